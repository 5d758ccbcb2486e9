# Prints each failed test of a `bun test` log with the output that preceded it (its error, the
# expect diff, the stack): CI shows only the end of a long log, where bun names failures bare.
/^\(pass\)|^\(skip\)|^\(todo\)|^[^ ].*\.ts:$/ { n = 0; next }
/^\(fail\)/ {
  print "----"
  for (i = (n > 80 ? n - 80 : 0); i < n; i++) print buf[i % 80]
  print
  n = 0
  next
}
{ buf[n % 80] = $0; n++ }

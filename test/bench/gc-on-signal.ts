/**
 * Preloaded (`bun --preload`) into the daemon and the bare servers for the idle-RSS figure:
 * SIGUSR2 runs a full synchronous garbage collection, so the RSS read afterwards is comparable.
 * @module
 */
process.on("SIGUSR2", () => {
  Bun.gc(true);
});

import { mock, test } from "bun:test";
import * as realUndici from "undici";

class Agent { connect: any; constructor(o: any) { this.connect = o?.connect; } }
mock.module("undici", () => ({
  ...realUndici,
  Agent,
  fetch: (url: any, init: any = {}) => {
    const c = init.dispatcher?.connect;
    const { dispatcher, ...rest } = init;
    return fetch(url, c ? { ...rest, tls: { ca: c.ca, cert: c.cert, key: c.key, rejectUnauthorized: c.rejectUnauthorized, serverName: c.servername } } : rest);
  },
}));
const k8s = await import("@kubernetes/client-node");
const { startTestDaemon } = await import("../harness/daemon.ts");
test("probe", async () => {
const d = await startTestDaemon({ config: "storage:\n  synchronous: NORMAL\n" });
try {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(d.kubeconfig);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: "inf" } } });
  await core.createNamespacedConfigMap({ namespace: "inf", body: { metadata: { name: "a" }, data: { x: "1" } } });
  const l = await core.listNamespacedConfigMap({ namespace: "inf" });
  console.log("list", l.metadata?.resourceVersion, l.items.map((i) => i.metadata?.name));
  const inf = k8s.makeInformer(kc, "/api/v1/namespaces/inf/configmaps", () => core.listNamespacedConfigMap({ namespace: "inf" }));
  inf.on("add", (o) => console.log("add", o.metadata?.name, o.metadata?.resourceVersion));
  inf.on("update", (o) => console.log("upd", o.metadata?.name, o.metadata?.resourceVersion));
  inf.on("delete", (o) => console.log("del", o.metadata?.name, o.metadata?.resourceVersion));
  inf.on("error", (e) => console.log("err", e));
  inf.on("connect", () => console.log("connect"));
  await inf.start();
  await core.createNamespacedConfigMap({ namespace: "inf", body: { metadata: { name: "b" }, data: { x: "1" } } });
  await Bun.sleep(1000);
  await inf.stop();
} finally {
  await d.stop();
  d.cleanup();
}
});

/**
 * KubeadmConfig conditions as upstream v1beta2 CABPK writes them: DataSecretAvailable and
 * CertificatesAvailable (reasons Available / NotAvailable / InternalError), Ready summarizing both
 * (Ready / NotReady / ReadyUnknown), and the deprecated v1beta1 twins (with severity and the
 * v1beta1 reasons WaitingForClusterInfrastructure, WaitingForControlPlaneAvailable,
 * DataSecretGenerationFailed, CertificatesGenerationFailed).
 * @module
 */
import type { KObject } from "../../lib/kobject.ts";
import { getCondition, getV1Beta1Condition, setCondition, setV1Beta1Condition as setV1Beta1, type ConditionStatus, type V1Beta1Condition } from "../../runtime/conditions.ts";

export const DATA_SECRET_AVAILABLE = "DataSecretAvailable";
export const CERTIFICATES_AVAILABLE = "CertificatesAvailable";
const SUMMARIZED = [DATA_SECRET_AVAILABLE, CERTIFICATES_AVAILABLE];

/** v1beta1 conditions leave out empty reason, message and severity (the schema refuses empty strings). */
function setV1Beta1Condition(cfg: KObject, c: Omit<V1Beta1Condition, "lastTransitionTime">): void {
  const next = { ...c };
  for (const k of ["reason", "message", "severity"] as const) if (!next[k]) delete next[k];
  setV1Beta1(cfg, next);
}

export function dataSecretAvailable(cfg: KObject): void {
  setCondition(cfg, { type: DATA_SECRET_AVAILABLE, status: "True", reason: "Available" });
  setV1Beta1Condition(cfg, { type: DATA_SECRET_AVAILABLE, status: "True" });
}

export function dataSecretNotAvailable(cfg: KObject, message: string, v1beta1Reason: string, severity: "Info" | "Warning" = "Warning"): void {
  setCondition(cfg, { type: DATA_SECRET_AVAILABLE, status: "False", reason: "NotAvailable", message });
  setV1Beta1Condition(cfg, { type: DATA_SECRET_AVAILABLE, status: "False", reason: v1beta1Reason, severity, message: severity === "Info" ? "" : message });
}

export function certificatesAvailable(cfg: KObject): void {
  setCondition(cfg, { type: CERTIFICATES_AVAILABLE, status: "True", reason: "Available" });
  setV1Beta1Condition(cfg, { type: CERTIFICATES_AVAILABLE, status: "True" });
}

export function certificatesFailed(cfg: KObject, message: string): void {
  setCondition(cfg, { type: CERTIFICATES_AVAILABLE, status: "Unknown", reason: "InternalError", message: "Please check controller logs for errors" });
  setV1Beta1Condition(cfg, { type: CERTIFICATES_AVAILABLE, status: "False", reason: "CertificatesGenerationFailed", severity: "Warning", message });
}

/** Ready from DataSecretAvailable and CertificatesAvailable (a missing one counts as Unknown). */
export function summarizeReady(cfg: KObject): void {
  const issues: { status: ConditionStatus; line: string }[] = [];
  for (const type of SUMMARIZED) {
    const c = getCondition(cfg, type);
    if (!c) issues.push({ status: "Unknown", line: `* ${type}: Condition not yet reported` });
    else if (c.status !== "True") issues.push({ status: c.status, line: `* ${type}: ${c.message || c.reason}` });
  }
  const worst: ConditionStatus = issues.some((i) => i.status === "False") ? "False" : issues.length ? "Unknown" : "True";
  const ordered = [...issues.filter((i) => i.status === "False"), ...issues.filter((i) => i.status !== "False")];
  setCondition(cfg, {
    type: "Ready",
    status: worst,
    reason: worst === "True" ? "Ready" : worst === "False" ? "NotReady" : "ReadyUnknown",
    message: ordered.map((i) => i.line).join("\n"),
  });
  const legacy = SUMMARIZED.map((t) => getV1Beta1Condition(cfg, t)).filter((c) => c !== undefined);
  if (!legacy.length) return;
  const bad = legacy.find((c) => c.status === "False") ?? legacy.find((c) => c.status === "Unknown");
  if (bad) setV1Beta1Condition(cfg, { type: "Ready", status: bad.status, reason: bad.reason, severity: bad.severity, message: bad.message });
  else setV1Beta1Condition(cfg, { type: "Ready", status: "True" });
}

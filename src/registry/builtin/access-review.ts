/**
 * authorization.k8s.io/v1 SelfSubjectAccessReview: create-only, computed, never stored.
 * The appliance's authorization is simple: members of system:masters may do everything;
 * users configured as read-only may get, list and watch.
 * @module
 */
import type { ResourceDefinition, UserInfo } from "../types.ts";
import { builtinKind } from "./define.ts";
import type { KObject } from "../../lib/kobject.ts";
import { authorize } from "../authz.ts";
import { bool, obj, resourceSchema, str } from "./schema-helpers.ts";

const schema = resourceSchema("SelfSubjectAccessReview checks whether the current user can perform an action.", {
  spec: obj(
    {
      resourceAttributes: obj({
        namespace: str(),
        verb: str(),
        group: str(),
        version: str(),
        resource: str(),
        subresource: str(),
        name: str(),
      }),
      nonResourceAttributes: obj({ path: str(), verb: str() }),
    },
    undefined,
  ),
  status: obj({ allowed: bool(), denied: bool(), reason: str(), evaluationError: str() }),
}, { required: ["spec"] });

function review(o: KObject, user: UserInfo): KObject {
  const spec = (o.spec ?? {}) as { resourceAttributes?: { verb?: string }; nonResourceAttributes?: { verb?: string } };
  const verb = spec.resourceAttributes?.verb ?? spec.nonResourceAttributes?.verb ?? "";
  const decision = authorize(user, verb);
  return {
    apiVersion: "authorization.k8s.io/v1",
    kind: "SelfSubjectAccessReview",
    metadata: { creationTimestamp: null as unknown as string },
    spec: o.spec ?? {},
    status: decision.allowed ? { allowed: true, reason: decision.reason } : { allowed: false, reason: decision.reason },
  };
}

export const selfSubjectAccessReviewDefinition: ResourceDefinition = builtinKind({
  group: "authorization.k8s.io",
  kind: "SelfSubjectAccessReview",
  plural: "selfsubjectaccessreviews",
  namespaced: false,
  verbs: ["create"],
  schema,
  printerColumns: [],
  hooks: { virtualCreate: review },
});

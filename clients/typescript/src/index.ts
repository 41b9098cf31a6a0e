/**
 * @consentd/client: a Node.js client for consentd, the consent decision service.
 *
 * ```ts
 * import { ConsentdClient, Channel, ConsentStatus } from "@consentd/client";
 * const client = new ConsentdClient("http://127.0.0.1:50051", { apiKey: process.env.CONSENTD_API_KEY });
 * await client.setConsent({ profile: "acme", channel: Channel.EMAIL, contactPoint: "jane@example.com",
 *   purpose: "newsletter", status: ConsentStatus.OPTED_IN });
 * for await (const d of client.checkStream(recipients, { profile: "acme", channel: "email", purpose: "newsletter" })) { ... }
 * ```
 */

export * from "./client";
export { ConsentdClient as Client } from "./client";
export * from "./errors";
export { CheckStream, type CheckDecision, type Recipient, type Recipients } from "./stream";
export { ApiKeyScope, DoubleOptInMode } from "./gen/consent/v1/admin";
export { ChangeOutcome, EventKind, KeywordClass } from "./gen/consent/v1/consent";
export { Decision, Reason } from "./gen/consent/v1/decision";
export {
  ChangeSource,
  Channel,
  ConsentStatus,
  EnforcementModel,
  type Proof,
  PurposeKind,
  SuppressionKind,
} from "./gen/consent/v1/types";
/** The generated messages and clients of consent.v1. */
export * as pb from "./pb";

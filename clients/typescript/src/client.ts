/**
 * The client: one gRPC channel to consentd, the API key on every call, typed helpers.
 *
 * - Authentication: `authorization: Bearer <key_id>.<secret>` on every call.
 * - TLS and mTLS: `https://` addresses, a CA, optionally a client certificate.
 * - Safe retries: every consent change gets an idempotency key (UUID4) when it is made, and
 *   a call that fails UNAVAILABLE (outcome unknown) is sent again with the *same* key, with
 *   bounded exponential backoff; the server answers a change it already took with its
 *   first answer (`replayed`), so nothing is applied twice.
 * - Read your writes: the highest revision any write answered is remembered
 *   (`minRevision`) and sent as `min_revision` with every check.
 */

import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";

import * as grpc from "@grpc/grpc-js";

import { ConsentdError, fromServiceError, StreamProtocolError } from "./errors";
import {
  ApiKey,
  ApiKeyScope,
  AdminServiceClient,
  DoubleOptInMode,
  GetServerInfoResponse,
  Profile,
  Purpose,
  Topic,
} from "./gen/consent/v1/admin";
import {
  ChangeOutcome,
  ChangeResult as PbChangeResult,
  ConsentServiceClient,
  EventKind,
  HistoryEvent as PbHistoryEvent,
  SetConsentRequest,
} from "./gen/consent/v1/consent";
import { CheckResponse, Clock, Decision, DecisionServiceClient, Reason } from "./gen/consent/v1/decision";
import {
  ChangeSource,
  Channel,
  ConsentRecord as PbConsentRecord,
  ConsentStatus,
  Proof,
  PurposeKind,
  SuppressionKind,
} from "./gen/consent/v1/types";
import { CheckStream, type Recipients } from "./stream";

/** Largest answer accepted (a CheckStream batch with links can pass gRPC's default 4 MiB). */
export const RECEIVE_MESSAGE_BYTES_MAX = 64 << 20;
/** The server's default --message-bytes-max. */
export const SEND_MESSAGE_BYTES_MAX = 16 << 20;
/** The server's default --set-batch-items-max: BatchSetConsent calls are cut to this. */
export const SET_BATCH_ITEMS_MAX = 1000;

/** How calls whose outcome is unknown (UNAVAILABLE) are retried. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  multiplier: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 6, initialBackoffMs: 100, maxBackoffMs: 2000, multiplier: 2 };

/** A PEM file's path, or its content. */
export type PemSource = string | Buffer;

export interface ClientOptions {
  /** `<key_id>.<secret>`, sent as `authorization: Bearer ...`. */
  apiKey?: string;
  /** The CA that signed the server's certificate (default: the system's roots); https only. */
  ca?: PemSource;
  /** With `key`: a client certificate for mutual TLS. */
  cert?: PemSource;
  key?: PemSource;
  /** The name to check the server's certificate against, when not the address's host. */
  serverName?: string;
  retry?: Partial<RetryPolicy>;
  /** Default deadline of unary calls, in milliseconds (none by default). */
  timeoutMs?: number;
  /** Extra channel options of @grpc/grpc-js. */
  channelOptions?: grpc.ChannelOptions;
  /** Client interceptors of @grpc/grpc-js (tracing, metrics, tests). */
  interceptors?: grpc.Interceptor[];
}

/** grpc.health.v1 serving status. */
export enum HealthStatus {
  UNKNOWN = 0,
  SERVING = 1,
  NOT_SERVING = 2,
  SERVICE_UNKNOWN = 3,
}

export interface CallOptions {
  /** Deadline of this call in milliseconds. */
  timeoutMs?: number;
}

export interface CheckArgs extends CallOptions {
  profile: string;
  channel: Channel | string;
  contactPoint: string;
  purpose: string;
  topic?: string;
  /** Default: the client's `minRevision` (read your writes); 0: any state. */
  minRevision?: number;
  /** Decide as of this past moment, from history (not later than the server's now). */
  asOf?: Date;
  /** The clock `asOf` is read on: "recorded" (what consentd knew then; the default) or
   * "occurred" (what had happened by then, including changes recorded later). */
  clock?: AsOfClock;
}

/** The two clocks of a consent change, for `asOf`. */
export type AsOfClock = "recorded" | "occurred";

function clockOf(asOf: Date | undefined, clock: AsOfClock | undefined): Clock {
  if (asOf === undefined) {
    if (clock !== undefined) throw new TypeError("clock needs asOf");
    return Clock.UNSPECIFIED;
  }
  if (clock === undefined || clock === "recorded") return Clock.RECORDED;
  if (clock === "occurred") return Clock.OCCURRED;
  throw new TypeError(`clock: "recorded" or "occurred", not ${JSON.stringify(clock)}`);
}

export interface CheckResult {
  decision: Decision;
  reason: Reason;
  send: boolean;
  /** Set when `reason` is SUPPRESSED. */
  suppressionKind: SuppressionKind | undefined;
  /** The revision of the state the decision read. */
  revision: number;
  raw: CheckResponse;
}

export interface CheckStreamArgs {
  profile: string;
  channel: Channel | string;
  purpose: string;
  topic?: string;
  /** Recipients per batch (the server's --check-batch-items-max, 16384 by default, bounds it). */
  batchSize?: number;
  /** Batches read ahead of what the caller consumed, at most (default 8; consentd buffers 4
   * answered batches per stream, and the other 4 keep the stream busy meanwhile). */
  maxInFlight?: number;
  minRevision?: number;
  /** Also mint every SEND recipient's links (needs the HTTP edge and the write scope). */
  includeLinks?: boolean;
  /** As in {@link CheckArgs}: every batch decided as of this past moment. */
  asOf?: Date;
  clock?: AsOfClock;
  timeoutMs?: number;
}

export interface LinksArgs extends CallOptions {
  profile: string;
  channel: Channel | string;
  contactPoint: string;
  purpose: string;
  topic?: string;
}

export interface Links {
  unsubscribeUrl: string;
  /** The List-Unsubscribe header value. */
  listUnsubscribe: string;
  /** The List-Unsubscribe-Post header value. */
  listUnsubscribePost: string;
  preferencesUrl: string;
}

/** One consent change. */
export interface Change {
  profile: string;
  channel: Channel | string;
  contactPoint: string;
  purpose: string;
  /** OPTED_IN or OPTED_OUT. */
  status: ConsentStatus | string;
  topic?: string;
  /** When the person acted, as the source system saw it (default: server time). */
  occurredAt?: Date;
  source?: ChangeSource | string;
  reason?: string;
  proof?: Partial<Proof>;
  expiresAt?: Date;
  /** Made (UUID4) when absent; `batchSetConsent` writes it back into the change. */
  idempotencyKey?: string;
}

export interface ConsentRecord {
  purpose: string;
  topic: string;
  status: ConsentStatus;
  occurredAt: Date | undefined;
  expiresAt: Date | undefined;
  source: ChangeSource;
  revision: number;
}

export interface ChangeResult {
  outcome: ChangeOutcome;
  /** True for APPLIED and PENDING_CONFIRMATION. */
  applied: boolean;
  /** The new revision when applied; the store's revision when superseded. */
  revision: number;
  /** True when the server answered a repeated idempotency key with the first answer. */
  replayed: boolean;
  /** The idempotency key sent. */
  idempotencyKey: string;
  record: ConsentRecord | undefined;
  /** Set for PENDING_CONFIRMATION. */
  confirmationToken: string;
  confirmationExpiresAt: Date | undefined;
  raw: PbChangeResult;
}

/** Why one item of a batch failed (the others did not). */
export interface ItemError {
  applied: false;
  error: true;
  /** The gRPC status code the item would have had alone. */
  code: number;
  /** The offending field within the change, e.g. `change.contact_point` (the server's
   * `requests[i].` prefix is removed: the position in the results names the change). */
  field: string;
  message: string;
  idempotencyKey: string;
}

export interface SuppressionArgs extends CallOptions {
  profile: string;
  channel: Channel | string;
  contactPoint: string;
  kind: SuppressionKind | string;
  reason?: string;
  occurredAt?: Date;
  source?: ChangeSource | string;
}

export interface SuppressionResult {
  /** False when nothing changed (the kind was already active, or not active). */
  changed: boolean;
  revision: number;
}

export interface ContactArgs extends CallOptions {
  profile: string;
  channel: Channel | string;
  contactPoint: string;
}

export interface Suppression {
  kind: SuppressionKind;
  occurredAt: Date | undefined;
  reason: string;
  revision: number;
}

export interface ConsentState {
  /** The normalized contact point. */
  contactPoint: string;
  records: ConsentRecord[];
  suppressions: Suppression[];
  revision: number;
}

export interface HistoryEvent {
  seq: number;
  kind: EventKind;
  applied: boolean;
  revision: number;
  purpose: string;
  topic: string;
  status: ConsentStatus;
  suppressionKind: SuppressionKind;
  occurredAt: Date | undefined;
  recordedAt: Date | undefined;
  source: ChangeSource;
  actor: string;
  reason: string;
  proof: Proof | undefined;
  hash: string;
  prevHash: string;
  raw: PbHistoryEvent;
}

export interface History {
  events: HistoryEvent[];
  verification: { intact: boolean; eventsChecked: number; firstBrokenSeq: number; detail: string };
}

type EnumObject = Record<string, string | number>;

/** An enum value from itself or its name (`"email"`, `"EMAIL"`). */
export function enumOf<E extends EnumObject>(e: E, value: E[keyof E] | string, what: string): E[keyof E] {
  if (typeof value === "number") return value;
  const v = e[String(value).toUpperCase()];
  if (typeof v !== "number" || v < 0) {
    const names = Object.keys(e).filter((k) => typeof e[k] === "number" && (e[k] as number) >= 0);
    throw new RangeError(`\`${value}\` is not a ${what}: one of ${names.join(", ")}`);
  }
  return v as E[keyof E];
}

function pem(source: PemSource | undefined): Buffer | null {
  if (source === undefined) return null;
  if (Buffer.isBuffer(source)) return source;
  if (source.includes("-----BEGIN")) return Buffer.from(source);
  return readFileSync(source);
}

/** `host:port` and whether TLS is used, from `http://`, `https://` or `host:port`. */
export function parseAddress(addr: string): { target: string; tls: boolean } {
  if (!addr.includes("://")) return { target: addr, tls: false };
  const url = new URL(addr);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new RangeError(`address \`${addr}\`: the scheme must be http or https`);
  }
  if (!url.hostname) {
    throw new RangeError(`address \`${addr}\` needs a host, e.g. http://127.0.0.1:50051`);
  }
  const tls = url.protocol === "https:";
  // The URL parser drops a port that is the scheme's default.
  return { target: `${url.hostname}:${url.port || (tls ? 443 : 80)}`, tls };
}

function recordOf(r: PbConsentRecord): ConsentRecord {
  return {
    purpose: r.purposeId,
    topic: r.topicId,
    status: r.status,
    occurredAt: r.occurredAt,
    expiresAt: r.expiresAt,
    source: r.source,
    revision: r.revision,
  };
}

function changeResultOf(r: PbChangeResult, idempotencyKey: string): ChangeResult {
  return {
    outcome: r.outcome,
    applied: r.outcome === ChangeOutcome.APPLIED || r.outcome === ChangeOutcome.PENDING_CONFIRMATION,
    revision: r.revision,
    replayed: r.replayed,
    idempotencyKey,
    record: r.record ? recordOf(r.record) : undefined,
    confirmationToken: r.confirmationToken,
    confirmationExpiresAt: r.confirmationExpiresAt,
    raw: r,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** grpc.health.v1.HealthCheckRequest { string service = 1; }, encoded by hand. */
export function encodeHealthRequest(service: string): Buffer {
  const data = Buffer.from(service);
  if (data.length === 0) return Buffer.alloc(0);
  const length: number[] = [];
  let n = data.length;
  do {
    const byte = n & 0x7f;
    n >>>= 7;
    length.push(byte | (n ? 0x80 : 0));
  } while (n);
  return Buffer.concat([Buffer.from([0x0a, ...length]), data]);
}

/** HealthCheckResponse { ServingStatus status = 1; }: one varint field, or nothing. */
export function decodeHealthResponse(data: Buffer): HealthStatus {
  return data.length >= 2 && data[0] === 0x08 ? (data[1] as HealthStatus) : HealthStatus.UNKNOWN;
}

type Unary<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall;

/** A consentd client. Share one per process (it holds one connection). */
export class ConsentdClient {
  /** The generated clients, for calls the helpers do not cover (pass `metadata()`). */
  readonly decision: DecisionServiceClient;
  readonly consent: ConsentServiceClient;
  readonly admin: AdminServiceClient;
  readonly retry: RetryPolicy;
  readonly timeoutMs: number | undefined;
  private readonly channel: grpc.Channel;
  private readonly auth: grpc.Metadata;
  private revision = 0;

  constructor(addr: string, options: ClientOptions = {}) {
    const { target, tls } = parseAddress(addr);
    if ((options.cert === undefined) !== (options.key === undefined)) {
      throw new RangeError("a client certificate needs both cert and key");
    }
    if (!tls && (options.ca !== undefined || options.cert !== undefined)) {
      throw new RangeError(`ca, cert and key need an https:// address, not \`${addr}\``);
    }
    const channelOptions: grpc.ChannelOptions = {
      "grpc.max_receive_message_length": RECEIVE_MESSAGE_BYTES_MAX,
      "grpc.max_send_message_length": SEND_MESSAGE_BYTES_MAX,
      // Reconnect quickly after a server restart, so retries find it back.
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.max_reconnect_backoff_ms": 2000,
      ...(options.serverName
        ? { "grpc.ssl_target_name_override": options.serverName, "grpc.default_authority": options.serverName }
        : {}),
      ...options.channelOptions,
    };
    const credentials = tls
      ? grpc.credentials.createSsl(pem(options.ca), pem(options.key), pem(options.cert))
      : grpc.credentials.createInsecure();
    this.channel = new grpc.Channel(target, credentials, channelOptions);
    const clientOptions: Partial<grpc.ClientOptions> = {
      channelOverride: this.channel,
      interceptors: options.interceptors,
    };
    this.decision = new DecisionServiceClient(target, credentials, clientOptions);
    this.consent = new ConsentServiceClient(target, credentials, clientOptions);
    this.admin = new AdminServiceClient(target, credentials, clientOptions);
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    if (this.retry.maxAttempts < 1) throw new RangeError("retry.maxAttempts must be at least 1");
    this.timeoutMs = options.timeoutMs;
    this.auth = new grpc.Metadata();
    if (options.apiKey) this.auth.set("authorization", `Bearer ${options.apiKey}`);
  }

  /** The call metadata (the API key), for the generated clients. */
  metadata(): grpc.Metadata {
    return this.auth.clone();
  }

  close(): void {
    this.decision.close();
    this.consent.close();
    this.admin.close();
    this.channel.close();
  }

  // ---- read your writes ----------------------------------------------------------------

  /** The highest revision a write answered on this client; checks read at least it. */
  get minRevision(): number {
    return this.revision;
  }

  /** Raises `minRevision` to `revision` (e.g. one another process wrote). */
  observeRevision(revision: number): void {
    if (revision > this.revision) this.revision = revision;
  }

  /** Forgets the revisions seen (e.g. when pointed at another, fresh server). */
  resetMinRevision(): void {
    this.revision = 0;
  }

  // ---- calls ---------------------------------------------------------------------------

  private callOptions(timeoutMs: number | undefined): Partial<grpc.CallOptions> {
    const ms = timeoutMs ?? this.timeoutMs;
    return ms === undefined ? {} : { deadline: Date.now() + ms };
  }

  private once<Req, Res>(client: grpc.Client, rpc: Unary<Req, Res>, request: Req, timeoutMs?: number): Promise<Res> {
    return new Promise((resolve, reject) => {
      rpc.call(client, request, this.metadata(), this.callOptions(timeoutMs), (error, response) =>
        error ? reject(error) : resolve(response),
      );
    });
  }

  /** One unary call; sent again with the same request on UNAVAILABLE when `retry`. */
  private async unary<Req, Res>(
    client: grpc.Client,
    rpc: Unary<Req, Res>,
    request: Req,
    retry: boolean,
    timeoutMs?: number,
  ): Promise<Res> {
    const policy = this.retry;
    let backoff = policy.initialBackoffMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(client, rpc, request, timeoutMs);
      } catch (e) {
        const code = (e as grpc.ServiceError).code;
        if (retry && code === grpc.status.UNAVAILABLE && attempt < policy.maxAttempts) {
          await sleep(backoff / 2 + (Math.random() * backoff) / 2);
          backoff = Math.min(backoff * policy.multiplier, policy.maxBackoffMs);
          continue;
        }
        throw fromServiceError(e);
      }
    }
  }

  // ---- decisions -----------------------------------------------------------------------

  /** One recipient's decision (an SMS gateway's call). */
  async check(args: CheckArgs): Promise<CheckResult> {
    const r = await this.unary(
      this.decision,
      this.decision.check,
      {
        profileId: args.profile,
        channel: enumOf(Channel, args.channel, "Channel"),
        contactPoint: args.contactPoint,
        purposeId: args.purpose,
        topicId: args.topic ?? "",
        minRevision: args.minRevision ?? this.revision,
        asOf: args.asOf,
        asOfClock: clockOf(args.asOf, args.clock),
      },
      true,
      args.timeoutMs,
    );
    return {
      decision: r.decision,
      reason: r.reason,
      send: r.decision === Decision.SEND,
      suppressionKind: r.reason === Reason.SUPPRESSED ? r.suppressionKind : undefined,
      revision: r.revision,
      raw: r,
    };
  }

  /**
   * Decisions for many recipients over one CheckStream, in input order.
   *
   * `recipients` is any iterable or async iterable (a file read line by line is fine) of
   * contact points, or {@link Recipient} for one that overrides the channel or topic. It is
   * read in batches of `batchSize` and never more than `maxInFlight` batches ahead of the
   * decisions the caller has taken, so memory stays bounded whatever its length. Not
   * retried: a failure throws, and the caller knows how far it got.
   */
  checkStream(recipients: Recipients, args: CheckStreamArgs): CheckStream {
    const channel = enumOf(Channel, args.channel, "Channel");
    const minRevision = args.minRevision ?? this.revision;
    return new CheckStream(
      () => this.decision.checkStream(this.metadata(), this.callOptions(args.timeoutMs)),
      recipients,
      {
        profileId: args.profile,
        channel,
        purposeId: args.purpose,
        topicId: args.topic ?? "",
        minRevision,
        includeLinks: args.includeLinks ?? false,
        asOf: args.asOf,
        asOfClock: clockOf(args.asOf, args.clock),
        batchSize: args.batchSize ?? 4096,
        maxInFlight: args.maxInFlight ?? 8,
      },
    );
  }

  /** The recipient's one-click unsubscribe and preference-center links. */
  async mintLinks(args: LinksArgs): Promise<Links> {
    const r = await this.unary(
      this.decision,
      this.decision.mintLinks,
      {
        profileId: args.profile,
        channel: enumOf(Channel, args.channel, "Channel"),
        contactPoint: args.contactPoint,
        purposeId: args.purpose,
        topicId: args.topic ?? "",
      },
      true,
      args.timeoutMs,
    );
    return {
      unsubscribeUrl: r.unsubscribeUrl,
      listUnsubscribe: r.listUnsubscribe,
      listUnsubscribePost: r.listUnsubscribePost,
      preferencesUrl: r.preferencesUrl,
    };
  }

  // ---- consent writes ------------------------------------------------------------------

  private static request(change: Change, idempotencyKey: string): SetConsentRequest {
    return SetConsentRequest.fromPartial({
      change: {
        profileId: change.profile,
        channel: enumOf(Channel, change.channel, "Channel"),
        contactPoint: change.contactPoint,
        purposeId: change.purpose,
        topicId: change.topic ?? "",
        status: enumOf(ConsentStatus, change.status, "ConsentStatus"),
        occurredAt: change.occurredAt,
        source: enumOf(ChangeSource, change.source ?? ChangeSource.API, "ChangeSource"),
        reason: change.reason ?? "",
        proof: change.proof,
        expiresAt: change.expiresAt,
      },
      idempotencyKey,
    });
  }

  /**
   * Records one change. It gets a new idempotency key unless one is given; retries after
   * UNAVAILABLE send the same key. Give `occurredAt` whenever the source system knows it.
   */
  async setConsent(change: Change & CallOptions): Promise<ChangeResult> {
    const key = change.idempotencyKey || randomUUID();
    const request = ConsentdClient.request(change, key);
    const r = await this.unary(this.consent, this.consent.setConsent, request, true, change.timeoutMs);
    if (!r.result) throw new StreamProtocolError("SetConsent answered no result");
    this.observeRevision(r.result.revision);
    return changeResultOf(r.result, key);
  }

  /**
   * Records many changes, `chunkSize` per call. Not atomic: one result per change, in
   * order, a ChangeResult or an ItemError (`error: true`). Every change without an
   * idempotency key gets one (written into the change); a chunk that fails UNAVAILABLE is
   * sent again with the same keys.
   */
  async batchSetConsent(
    changes: Iterable<Change>,
    options: { chunkSize?: number; timeoutMs?: number } = {},
  ): Promise<(ChangeResult | ItemError)[]> {
    const chunkSize = options.chunkSize ?? SET_BATCH_ITEMS_MAX;
    if (!(chunkSize >= 1)) throw new RangeError("chunkSize must be at least 1");
    const results: (ChangeResult | ItemError)[] = [];
    let chunk: Change[] = [];
    const flush = async () => {
      const requests = chunk.map((c) => {
        if (!c.idempotencyKey) c.idempotencyKey = randomUUID();
        return ConsentdClient.request(c, c.idempotencyKey);
      });
      const answer = await this.unary(
        this.consent,
        this.consent.batchSetConsent,
        { requests, validateOnly: false },
        true,
        options.timeoutMs,
      );
      if (answer.results.length !== chunk.length) {
        throw new StreamProtocolError(
          `BatchSetConsent answered ${answer.results.length} results for ${chunk.length} changes`,
        );
      }
      answer.results.forEach((item, i) => {
        const key = chunk[i].idempotencyKey!;
        if (item.change) {
          this.observeRevision(item.change.revision);
          results.push(changeResultOf(item.change, key));
        } else {
          const e = item.error ?? { code: 2, field: "", message: "no result" };
          // The server names the field within the call (`requests[2].change.contact_point`);
          // calls are cut from the caller's list, so the position in `results` says which change.
          const field = e.field.replace(/^requests\[\d+\]\./, "");
          results.push({ applied: false, error: true, code: e.code, field, message: e.message, idempotencyKey: key });
        }
      });
      chunk = [];
    };
    for (const change of changes) {
      chunk.push(change);
      if (chunk.length >= chunkSize) await flush();
    }
    if (chunk.length) await flush();
    return results;
  }

  /**
   * Confirms a pending double opt-in with the confirming click's own evidence. Not retried:
   * a token confirms once; on Unavailable read the state with getConsent.
   */
  async confirmOptIn(
    token: string,
    options: { ipAddress?: string; userAgent?: string; occurredAt?: Date; timeoutMs?: number } = {},
  ): Promise<ChangeResult> {
    const r = await this.unary(
      this.consent,
      this.consent.confirmOptIn,
      { token, ipAddress: options.ipAddress ?? "", userAgent: options.userAgent ?? "", occurredAt: options.occurredAt },
      false,
      options.timeoutMs,
    );
    if (!r.result) throw new StreamProtocolError("ConfirmOptIn answered no result");
    this.observeRevision(r.result.revision);
    return changeResultOf(r.result, "");
  }

  private async suppression(lift: boolean, args: SuppressionArgs): Promise<SuppressionResult> {
    const request = {
      profileId: args.profile,
      channel: enumOf(Channel, args.channel, "Channel"),
      contactPoint: args.contactPoint,
      kind: enumOf(SuppressionKind, args.kind, "SuppressionKind"),
      reason: args.reason ?? "",
      occurredAt: args.occurredAt,
      source: enumOf(ChangeSource, args.source ?? ChangeSource.API, "ChangeSource"),
    };
    // These requests have no idempotency key. They are retried all the same: the state they
    // leave is the same however often they arrive (a bounce that is not recorded is worse
    // than a repeat), but a retry after a lost answer is recorded a second time in the
    // history, answered `changed: false`.
    const r = lift
      ? await this.unary(this.consent, this.consent.liftSuppression, request, true, args.timeoutMs)
      : await this.unary(
          this.consent,
          this.consent.addSuppression,
          { ...request, validateOnly: false },
          true,
          args.timeoutMs,
        );
    this.observeRevision(r.revision);
    return { changed: r.changed, revision: r.revision };
  }

  /**
   * Blocks the contact point on the channel for every purpose. Retried on UNAVAILABLE; the API
   * has no idempotency key for suppressions, so a retry after a lost answer leaves the same
   * state but a second history event (`changed` false).
   */
  addSuppression(args: SuppressionArgs): Promise<SuppressionResult> {
    return this.suppression(false, args);
  }

  /** Lifts one suppression kind; other kinds stay. Retried on UNAVAILABLE. */
  liftSuppression(args: SuppressionArgs): Promise<SuppressionResult> {
    return this.suppression(true, args);
  }

  // ---- consent reads -------------------------------------------------------------------

  /** The current records and active suppressions of a contact point on a channel. */
  async getConsent(args: ContactArgs): Promise<ConsentState> {
    const r = await this.unary(
      this.consent,
      this.consent.getConsent,
      { profileId: args.profile, channel: enumOf(Channel, args.channel, "Channel"), contactPoint: args.contactPoint },
      true,
      args.timeoutMs,
    );
    return {
      contactPoint: r.contactPoint,
      records: r.records.map(recordOf),
      suppressions: r.suppressions.map((s) => ({
        kind: s.kind,
        occurredAt: s.occurredAt,
        reason: s.reason,
        revision: s.revision,
      })),
      revision: r.revision,
    };
  }

  /** Every history event (all pages), oldest first, with the verification of the chain. */
  async getHistory(args: ContactArgs & { pageSize?: number }): Promise<History> {
    const events: HistoryEvent[] = [];
    let pageToken = "";
    for (;;) {
      const r = await this.unary(
        this.consent,
        this.consent.getHistory,
        {
          profileId: args.profile,
          channel: enumOf(Channel, args.channel, "Channel"),
          contactPoint: args.contactPoint,
          pageSize: args.pageSize ?? 1000,
          pageToken,
        },
        true,
        args.timeoutMs,
      );
      for (const e of r.events) {
        events.push({
          seq: e.seq,
          kind: e.kind,
          applied: e.applied,
          revision: e.revision,
          purpose: e.purposeId,
          topic: e.topicId,
          status: e.status,
          suppressionKind: e.suppressionKind,
          occurredAt: e.occurredAt,
          recordedAt: e.recordedAt,
          source: e.source,
          actor: e.actor,
          reason: e.reason,
          proof: e.proof,
          hash: e.hash,
          prevHash: e.prevHash,
          raw: e,
        });
      }
      pageToken = r.nextPageToken;
      if (!pageToken) {
        const v = r.verification ?? { intact: false, eventsChecked: 0, firstBrokenSeq: 0, detail: "no verification" };
        return { events, verification: { ...v } };
      }
    }
  }

  // ---- administration ------------------------------------------------------------------

  /** Creates a profile (a brand or legal entity). Needs the admin scope. */
  async createProfile(
    profileId: string,
    options: {
      displayName?: string;
      defaultRegion?: string;
      doubleOptIn?: { channel: Channel | string; mode: DoubleOptInMode | string }[];
      extraStopKeywords?: string[];
      extraStartKeywords?: string[];
      timeoutMs?: number;
    } = {},
  ): Promise<Profile> {
    const r = await this.unary(
      this.admin,
      this.admin.createProfile,
      {
        profile: Profile.fromPartial({
          profileId,
          displayName: options.displayName ?? "",
          defaultRegion: options.defaultRegion ?? "",
          doubleOptIn: (options.doubleOptIn ?? []).map((d) => ({
            channel: enumOf(Channel, d.channel, "Channel"),
            mode: enumOf(DoubleOptInMode, d.mode, "DoubleOptInMode"),
          })),
          extraStopKeywords: options.extraStopKeywords ?? [],
          extraStartKeywords: options.extraStartKeywords ?? [],
        }),
      },
      false,
      options.timeoutMs,
    );
    return r.profile!;
  }

  /** Creates a purpose of a profile. Needs the admin scope. */
  async createPurpose(
    profile: string,
    purposeId: string,
    kind: PurposeKind | string = PurposeKind.COMMERCIAL,
    options: { displayName?: string; timeoutMs?: number } = {},
  ): Promise<Purpose> {
    const r = await this.unary(
      this.admin,
      this.admin.createPurpose,
      {
        purpose: Purpose.fromPartial({
          profileId: profile,
          purposeId,
          kind: enumOf(PurposeKind, kind, "PurposeKind"),
          displayName: options.displayName ?? "",
        }),
      },
      false,
      options.timeoutMs,
    );
    return r.purpose!;
  }

  /** Creates a topic of a purpose. Needs the admin scope. */
  async createTopic(
    profile: string,
    purpose: string,
    topicId: string,
    options: { displayName?: string; timeoutMs?: number } = {},
  ): Promise<Topic> {
    const r = await this.unary(
      this.admin,
      this.admin.createTopic,
      {
        topic: Topic.fromPartial({
          profileId: profile,
          purposeId: purpose,
          topicId,
          displayName: options.displayName ?? "",
        }),
      },
      false,
      options.timeoutMs,
    );
    return r.topic!;
  }

  /** Creates an API key; the secret is shown only now. */
  async createApiKey(
    scopes: (ApiKeyScope | string)[],
    options: { profiles?: string[]; description?: string; expireTime?: Date; timeoutMs?: number } = {},
  ): Promise<{ secret: string; key: ApiKey }> {
    const r = await this.unary(
      this.admin,
      this.admin.createApiKey,
      {
        description: options.description ?? "",
        scopes: scopes.map((s) => enumOf(ApiKeyScope, s, "ApiKeyScope")),
        profileIds: options.profiles ?? [],
        expireTime: options.expireTime,
      },
      false,
      options.timeoutMs,
    );
    return { secret: r.secret, key: r.apiKey! };
  }

  /** Revokes a key; its open streams end. Needs the admin scope. */
  async revokeApiKey(keyId: string, options: CallOptions = {}): Promise<ApiKey> {
    const r = await this.unary(this.admin, this.admin.revokeApiKey, { keyId }, true, options.timeoutMs);
    return r.apiKey!;
  }

  /** The server's version, applied revision and mode (any valid key may ask). */
  serverInfo(options: CallOptions = {}): Promise<GetServerInfoResponse> {
    return this.unary(this.admin, this.admin.getServerInfo, {}, true, options.timeoutMs);
  }

  /** The grpc.health.v1 status of `service` ("": the whole server). Needs no API key. */
  health(service = "", options: CallOptions = {}): Promise<HealthStatus> {
    return new Promise((resolve, reject) => {
      this.decision.makeUnaryRequest(
        "/grpc.health.v1.Health/Check",
        (b: Buffer) => b,
        (b: Buffer) => b,
        encodeHealthRequest(service),
        new grpc.Metadata(),
        { deadline: Date.now() + (options.timeoutMs ?? 5000) },
        (error, response) => (error ? reject(fromServiceError(error)) : resolve(decodeHealthResponse(response!))),
      );
    });
  }
}

export { ConsentdError };

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
import * as grpc from "@grpc/grpc-js";
import { ConsentdError } from "./errors";
import { ApiKey, ApiKeyScope, AdminServiceClient, DoubleOptInMode, GetServerInfoResponse, Profile, Purpose, Topic } from "./gen/consent/v1/admin";
import { ChangeOutcome, ChangeResult as PbChangeResult, ConsentServiceClient, EventKind, HistoryEvent as PbHistoryEvent } from "./gen/consent/v1/consent";
import { CheckResponse, Decision, DecisionServiceClient, Reason } from "./gen/consent/v1/decision";
import { ChangeSource, Channel, ConsentStatus, Proof, PurposeKind, SuppressionKind } from "./gen/consent/v1/types";
import { CheckStream, type Recipients } from "./stream";
/** Largest answer accepted (a CheckStream batch with links can pass gRPC's default 4 MiB). */
export declare const RECEIVE_MESSAGE_BYTES_MAX: number;
/** The server's default --message-bytes-max. */
export declare const SEND_MESSAGE_BYTES_MAX: number;
/** The server's default --set-batch-items-max: BatchSetConsent calls are cut to this. */
export declare const SET_BATCH_ITEMS_MAX = 1000;
/** How calls whose outcome is unknown (UNAVAILABLE) are retried. */
export interface RetryPolicy {
    /** Attempts in all, the first included. */
    maxAttempts: number;
    initialBackoffMs: number;
    maxBackoffMs: number;
    multiplier: number;
}
export declare const DEFAULT_RETRY: RetryPolicy;
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
export declare enum HealthStatus {
    UNKNOWN = 0,
    SERVING = 1,
    NOT_SERVING = 2,
    SERVICE_UNKNOWN = 3
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
    verification: {
        intact: boolean;
        eventsChecked: number;
        firstBrokenSeq: number;
        detail: string;
    };
}
type EnumObject = Record<string, string | number>;
/** An enum value from itself or its name (`"email"`, `"EMAIL"`). */
export declare function enumOf<E extends EnumObject>(e: E, value: E[keyof E] | string, what: string): E[keyof E];
/** `host:port` and whether TLS is used, from `http://`, `https://` or `host:port`. */
export declare function parseAddress(addr: string): {
    target: string;
    tls: boolean;
};
/** grpc.health.v1.HealthCheckRequest { string service = 1; }, encoded by hand. */
export declare function encodeHealthRequest(service: string): Buffer;
/** HealthCheckResponse { ServingStatus status = 1; }: one varint field, or nothing. */
export declare function decodeHealthResponse(data: Buffer): HealthStatus;
/** A consentd client. Share one per process (it holds one connection). */
export declare class ConsentdClient {
    /** The generated clients, for calls the helpers do not cover (pass `metadata()`). */
    readonly decision: DecisionServiceClient;
    readonly consent: ConsentServiceClient;
    readonly admin: AdminServiceClient;
    readonly retry: RetryPolicy;
    readonly timeoutMs: number | undefined;
    private readonly channel;
    private readonly auth;
    private revision;
    constructor(addr: string, options?: ClientOptions);
    /** The call metadata (the API key), for the generated clients. */
    metadata(): grpc.Metadata;
    close(): void;
    /** The highest revision a write answered on this client; checks read at least it. */
    get minRevision(): number;
    /** Raises `minRevision` to `revision` (e.g. one another process wrote). */
    observeRevision(revision: number): void;
    /** Forgets the revisions seen (e.g. when pointed at another, fresh server). */
    resetMinRevision(): void;
    private callOptions;
    private once;
    /** One unary call; sent again with the same request on UNAVAILABLE when `retry`. */
    private unary;
    /** One recipient's decision (an SMS gateway's call). */
    check(args: CheckArgs): Promise<CheckResult>;
    /**
     * Decisions for many recipients over one CheckStream, in input order.
     *
     * `recipients` is any iterable or async iterable (a file read line by line is fine) of
     * contact points, or {@link Recipient} for one that overrides the channel or topic. It is
     * read in batches of `batchSize` and never more than `maxInFlight` batches ahead of the
     * decisions the caller has taken, so memory stays bounded whatever its length. Not
     * retried: a failure throws, and the caller knows how far it got.
     */
    checkStream(recipients: Recipients, args: CheckStreamArgs): CheckStream;
    /** The recipient's one-click unsubscribe and preference-center links. */
    mintLinks(args: LinksArgs): Promise<Links>;
    private static request;
    /**
     * Records one change. It gets a new idempotency key unless one is given; retries after
     * UNAVAILABLE send the same key. Give `occurredAt` whenever the source system knows it.
     */
    setConsent(change: Change & CallOptions): Promise<ChangeResult>;
    /**
     * Records many changes, `chunkSize` per call. Not atomic: one result per change, in
     * order, a ChangeResult or an ItemError (`error: true`). Every change without an
     * idempotency key gets one (written into the change); a chunk that fails UNAVAILABLE is
     * sent again with the same keys.
     */
    batchSetConsent(changes: Iterable<Change>, options?: {
        chunkSize?: number;
        timeoutMs?: number;
    }): Promise<(ChangeResult | ItemError)[]>;
    /**
     * Confirms a pending double opt-in with the confirming click's own evidence. Not retried:
     * a token confirms once; on Unavailable read the state with getConsent.
     */
    confirmOptIn(token: string, options?: {
        ipAddress?: string;
        userAgent?: string;
        occurredAt?: Date;
        timeoutMs?: number;
    }): Promise<ChangeResult>;
    private suppression;
    /**
     * Blocks the contact point on the channel for every purpose. Retried on UNAVAILABLE; the API
     * has no idempotency key for suppressions, so a retry after a lost answer leaves the same
     * state but a second history event (`changed` false).
     */
    addSuppression(args: SuppressionArgs): Promise<SuppressionResult>;
    /** Lifts one suppression kind; other kinds stay. Retried on UNAVAILABLE. */
    liftSuppression(args: SuppressionArgs): Promise<SuppressionResult>;
    /** The current records and active suppressions of a contact point on a channel. */
    getConsent(args: ContactArgs): Promise<ConsentState>;
    /** Every history event (all pages), oldest first, with the verification of the chain. */
    getHistory(args: ContactArgs & {
        pageSize?: number;
    }): Promise<History>;
    /** Creates a profile (a brand or legal entity). Needs the admin scope. */
    createProfile(profileId: string, options?: {
        displayName?: string;
        defaultRegion?: string;
        doubleOptIn?: {
            channel: Channel | string;
            mode: DoubleOptInMode | string;
        }[];
        extraStopKeywords?: string[];
        extraStartKeywords?: string[];
        timeoutMs?: number;
    }): Promise<Profile>;
    /** Creates a purpose of a profile. Needs the admin scope. */
    createPurpose(profile: string, purposeId: string, kind?: PurposeKind | string, options?: {
        displayName?: string;
        timeoutMs?: number;
    }): Promise<Purpose>;
    /** Creates a topic of a purpose. Needs the admin scope. */
    createTopic(profile: string, purpose: string, topicId: string, options?: {
        displayName?: string;
        timeoutMs?: number;
    }): Promise<Topic>;
    /** Creates an API key; the secret is shown only now. */
    createApiKey(scopes: (ApiKeyScope | string)[], options?: {
        profiles?: string[];
        description?: string;
        expireTime?: Date;
        timeoutMs?: number;
    }): Promise<{
        secret: string;
        key: ApiKey;
    }>;
    /** Revokes a key; its open streams end. Needs the admin scope. */
    revokeApiKey(keyId: string, options?: CallOptions): Promise<ApiKey>;
    /** The server's version, applied revision and mode (any valid key may ask). */
    serverInfo(options?: CallOptions): Promise<GetServerInfoResponse>;
    /** The grpc.health.v1 status of `service` ("": the whole server). Needs no API key. */
    health(service?: string, options?: CallOptions): Promise<HealthStatus>;
}
export { ConsentdError };

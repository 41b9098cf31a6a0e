import { BinaryReader, BinaryWriter } from "@bufbuild/protobuf/wire";
import { type CallOptions, type ChannelCredentials, Client, type ClientDuplexStream, type ClientOptions, type ClientUnaryCall, type handleBidiStreamingCall, type handleUnaryCall, type Metadata, type ServiceError, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { Channel, SuppressionKind } from "./types";
export declare const protobufPackage = "consent.v1";
export declare const protobufFileName = "consent/v1/decision.proto";
export declare enum Decision {
    UNSPECIFIED = 0,
    SEND = 1,
    BLOCK = 2,
    UNRECOGNIZED = -1
}
export declare function decisionFromJSON(object: any): Decision;
export declare function decisionToJSON(object: Decision): string;
/** Why a decision was made. Each reason implies one decision. */
export declare enum Reason {
    UNSPECIFIED = 0,
    /** INVALID_CONTACT_POINT - Block: the contact point is not valid for the channel. */
    INVALID_CONTACT_POINT = 1,
    /** CONSENT_NOT_REQUIRED - Send: the purpose is disabled on this channel. */
    CONSENT_NOT_REQUIRED = 2,
    /** SUPPRESSED - Block: an active suppression exists (its kind is given beside the reason). */
    SUPPRESSED = 3,
    /** PURPOSE_OPTED_OUT - Block: the purpose is opted out. */
    PURPOSE_OPTED_OUT = 4,
    /** PENDING_CONFIRMATION - Block: double opt-in not yet confirmed (purpose or topic). */
    PENDING_CONFIRMATION = 5,
    /** CONSENT_EXPIRED - Block: the opt-in lapsed (purpose or topic). */
    CONSENT_EXPIRED = 6,
    /** NO_OPT_IN - Block: restrictive purpose without an opt-in. */
    NO_OPT_IN = 7,
    /** TOPIC_OPTED_OUT - Block: the topic is opted out. */
    TOPIC_OPTED_OUT = 8,
    /** NO_TOPIC_OPT_IN - Block: restrictive purpose, topic without an opt-in. */
    NO_TOPIC_OPT_IN = 9,
    /** OPTED_IN - Send: restrictive purpose with a current opt-in. */
    OPTED_IN = 10,
    /** NOT_OPTED_OUT - Send: non-restrictive purpose, not opted out. */
    NOT_OPTED_OUT = 11,
    /**
     * CONTACT_POINT_REASSIGNED - Block: restrictive, and the opt-in was recorded before the phone number's reassignment
     * date (ReportReassignedNumbers): it was the previous owner's.
     */
    CONTACT_POINT_REASSIGNED = 12,
    UNRECOGNIZED = -1
}
export declare function reasonFromJSON(object: any): Reason;
export declare function reasonToJSON(object: Reason): string;
/** The two clocks of a consent change. */
export declare enum Clock {
    /** UNSPECIFIED - With as_of: CLOCK_RECORDED. */
    UNSPECIFIED = 0,
    /** RECORDED - What consentd knew at the moment: changes recorded up to it. */
    RECORDED = 1,
    /**
     * OCCURRED - What had happened by the moment, in event time: every change that occurred up to it,
     * including ones recorded later (an opt-out clicked on Monday that a CRM synced on
     * Thursday). The difference between the clocks is the exposure a late sync caused.
     */
    OCCURRED = 2,
    UNRECOGNIZED = -1
}
export declare function clockFromJSON(object: any): Clock;
export declare function clockToJSON(object: Clock): string;
export interface MintLinksRequest {
    profileId: string;
    channel: Channel;
    contactPoint: string;
    /** What the unsubscribe link opts out of: the purpose, or one of its topics. */
    purposeId: string;
    topicId: string;
}
export interface MintLinksResponse {
    /**
     * https://<edge>/u/<token>: GET shows a page with one button; POST with the body
     * `List-Unsubscribe=One-Click` records the opt-out at once.
     */
    unsubscribeUrl: string;
    /** The value of the List-Unsubscribe header: `<unsubscribe_url>`. */
    listUnsubscribe: string;
    /** The value of the List-Unsubscribe-Post header: `List-Unsubscribe=One-Click`. */
    listUnsubscribePost: string;
    /** https://<edge>/p/<token>: the hosted preference center for this contact point. */
    preferencesUrl: string;
}
export interface CheckRequest {
    profileId: string;
    channel: Channel;
    contactPoint: string;
    purposeId: string;
    /** Optional: empty checks the purpose alone. */
    topicId: string;
    /** Optional: fail with FAILED_PRECONDITION unless the state read is at least this fresh. */
    minRevision: number;
    /**
     * Optional: decide as of this past moment, from history instead of the live state:
     * the same rules applied to the state and catalog of that moment, expiry included (see
     * DECISION-RULES, "Decisions as of a past moment"). Not later than now.
     */
    asOf: Date | undefined;
    /** The clock as_of is read on; needs as_of. */
    asOfClock: Clock;
}
export interface CheckResponse {
    decision: Decision;
    reason: Reason;
    /** Set when reason is REASON_SUPPRESSED. */
    suppressionKind: SuppressionKind;
    /**
     * The revision of the state the decision read (with as_of: of the live state when its
     * history was read).
     */
    revision: number;
}
/**
 * One batch of recipients. Profile, channel, purpose and topic are given once; items may
 * override channel and topic.
 */
export interface CheckStreamRequest {
    /** Echoed in the answer so the client can match batches to answers. */
    batchId: number;
    profileId: string;
    channel: Channel;
    purposeId: string;
    topicId: string;
    /** The recipients, in order. The answer has one entry per contact point, same order. */
    contactPoints: string[];
    /** Sparse per-item overrides, by index into contact_points. */
    overrides: ItemOverride[];
    /** Optional: as in CheckRequest. */
    minRevision: number;
    /**
     * Also mint the recipient's links (as MintLinks) for every item decided SEND, so a bulk
     * sender gets decisions and List-Unsubscribe headers in one pass. Needs the HTTP edge and
     * the `write` scope (as MintLinks).
     */
    includeLinks: boolean;
    /**
     * The packed form of contact_points, for bulk senders: the contact points in order, each
     * followed by one line feed (0x0A), UTF-8 ("a@example.com\nb@example.com\n"; the last line
     * feed may be left out). The server reads it without a string per recipient. A batch
     * uses contact_points or this, not both.
     */
    contactPointsPacked: Buffer;
    /** Answer with `outcomes` (one byte per item) instead of `decisions` and `reasons`. */
    packedAnswers: boolean;
    /**
     * Optional: as in CheckRequest; not with include_links. Every recipient's history is
     * read, so a batch as of a past moment costs a RocksDB read per recipient, not a lookup.
     */
    asOf: Date | undefined;
    asOfClock: Clock;
    /**
     * Sign what this batch was answered with: the answer carries a DecisionReceipt
     * (docs/receipts.md). Not with changed_since_revision.
     */
    receipts: boolean;
    /**
     * The revocation fence: answer only the recipients whose decision changed since this
     * revision (a campaign decided at it and sent later pulls back exactly those), in
     * `fenced`; `decisions`, `reasons` and `outcomes` stay empty. Read from the change feed by
     * contact key: contacts changed since are replayed from history; for the others only the
     * time and the catalog can have changed the decision. Not with as_of, as_of_revision,
     * include_links, overrides or receipts. At most Limits' fence changes since the revision.
     */
    changedSinceRevision?: number | undefined;
    /**
     * Replay: the state right after this revision (changes recorded later ignored), decided
     * at as_of (CLOCK_RECORDED or unspecified), or, without as_of, at the time the revision
     * was recorded. A receipt names the revision and time it was answered at.
     */
    asOfRevision?: number | undefined;
}
export interface ItemOverride {
    index: number;
    /** CHANNEL_UNSPECIFIED keeps the batch's channel. */
    channel: Channel;
    /** Empty keeps the batch's topic. */
    topicId: string;
}
export interface CheckStreamResponse {
    batchId: number;
    /** Every item read state at least as fresh as this revision. */
    revision: number;
    /** One per item, in request order (packed: one byte each). */
    decisions: Decision[];
    /** One per item, in request order (packed: one byte each). */
    reasons: Reason[];
    /** Sparse: the suppression kind of each REASON_SUPPRESSED item. */
    suppressed: SuppressedItem[];
    /** With include_links: one per item decided SEND, in request order. */
    links: ItemLinks[];
    /**
     * With packed_answers: one byte per item, in request order: the Decision's number times
     * 64 plus the Reason's number (decision = byte >> 6, reason = byte & 63).
     */
    outcomes: Buffer;
    /** With receipts: the signed receipt of this answer. */
    receipt: DecisionReceipt | undefined;
    /** With changed_since_revision: the recipients whose decision changed, in request order. */
    fenced: FencedItem[];
}
/**
 * A signed statement of what one batch was answered with. `body` is the canonical
 * encoding (docs/receipts.md: profile, channel, purpose, topic, the ordered digest of the
 * recipients' keyed hashes, every decision and reason, the revision read, the time, the
 * key id); `signature` is Ed25519 over `body` by receipt key `key_id`, whose public key
 * GetServerInfo and the HTTP edge's /receipt-keys serve. Keep `body` as received: it is
 * what the signature covers.
 */
export interface DecisionReceipt {
    body: Buffer;
    signature: Buffer;
    keyId: number;
}
/** One recipient whose decision changed since the fence's revision. */
export interface FencedItem {
    index: number;
    /** Now. */
    decision: Decision;
    reason: Reason;
    /** Set when reason is REASON_SUPPRESSED. */
    suppressionKind: SuppressionKind;
    /** At the fence's revision. */
    wasDecision: Decision;
    wasReason: Reason;
}
/**
 * One recipient's links. The List-Unsubscribe header is `<unsubscribe_url>`, and
 * List-Unsubscribe-Post is `List-Unsubscribe=One-Click`.
 */
export interface ItemLinks {
    index: number;
    unsubscribeUrl: string;
    preferencesUrl: string;
}
export interface SuppressedItem {
    index: number;
    kind: SuppressionKind;
}
export declare const MintLinksRequest: MessageFns<MintLinksRequest>;
export declare const MintLinksResponse: MessageFns<MintLinksResponse>;
export declare const CheckRequest: MessageFns<CheckRequest>;
export declare const CheckResponse: MessageFns<CheckResponse>;
export declare const CheckStreamRequest: MessageFns<CheckStreamRequest>;
export declare const ItemOverride: MessageFns<ItemOverride>;
export declare const CheckStreamResponse: MessageFns<CheckStreamResponse>;
export declare const DecisionReceipt: MessageFns<DecisionReceipt>;
export declare const FencedItem: MessageFns<FencedItem>;
export declare const ItemLinks: MessageFns<ItemLinks>;
export declare const SuppressedItem: MessageFns<SuppressedItem>;
/** Send-time decisions. Every answer carries a reason and the revision of the state read. */
export type DecisionServiceService = typeof DecisionServiceService;
export declare const DecisionServiceService: {
    /** One recipient: the SMS gateway's call. */
    readonly check: {
        readonly path: "/consent.v1.DecisionService/Check";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: CheckRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => CheckRequest;
        readonly responseSerialize: (value: CheckResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => CheckResponse;
    };
    /**
     * Bulk sends: the client streams batches of recipients; the server answers each batch
     * with one CheckStreamResponse, in the order the batches were sent. A batch whose
     * profile, purpose or topic is unknown ends the stream with INVALID_ARGUMENT naming the
     * field; a malformed contact point is a per-item REASON_INVALID_CONTACT_POINT and the
     * stream goes on.
     */
    readonly checkStream: {
        readonly path: "/consent.v1.DecisionService/CheckStream";
        readonly requestStream: true;
        readonly responseStream: true;
        readonly requestSerialize: (value: CheckStreamRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => CheckStreamRequest;
        readonly responseSerialize: (value: CheckStreamResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => CheckStreamResponse;
    };
    /**
     * The recipient's links for one message: the RFC 8058 one-click unsubscribe URL with
     * the List-Unsubscribe and List-Unsubscribe-Post header values, and the preference
     * center URL. Links are signed tokens for the HTTP edge (`--http-addr`); they carry a
     * keyed hash of the contact point and the contact point sealed, never in clear, and the
     * id of the calling API key, which history records as the actor (`edge:<key id>`) of every
     * change made with them. Needs the `write` scope: a preferences link opts in as well as out.
     */
    readonly mintLinks: {
        readonly path: "/consent.v1.DecisionService/MintLinks";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: MintLinksRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => MintLinksRequest;
        readonly responseSerialize: (value: MintLinksResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => MintLinksResponse;
    };
};
export interface DecisionServiceServer extends UntypedServiceImplementation {
    /** One recipient: the SMS gateway's call. */
    check: handleUnaryCall<CheckRequest, CheckResponse>;
    /**
     * Bulk sends: the client streams batches of recipients; the server answers each batch
     * with one CheckStreamResponse, in the order the batches were sent. A batch whose
     * profile, purpose or topic is unknown ends the stream with INVALID_ARGUMENT naming the
     * field; a malformed contact point is a per-item REASON_INVALID_CONTACT_POINT and the
     * stream goes on.
     */
    checkStream: handleBidiStreamingCall<CheckStreamRequest, CheckStreamResponse>;
    /**
     * The recipient's links for one message: the RFC 8058 one-click unsubscribe URL with
     * the List-Unsubscribe and List-Unsubscribe-Post header values, and the preference
     * center URL. Links are signed tokens for the HTTP edge (`--http-addr`); they carry a
     * keyed hash of the contact point and the contact point sealed, never in clear, and the
     * id of the calling API key, which history records as the actor (`edge:<key id>`) of every
     * change made with them. Needs the `write` scope: a preferences link opts in as well as out.
     */
    mintLinks: handleUnaryCall<MintLinksRequest, MintLinksResponse>;
}
export interface DecisionServiceClient extends Client {
    /** One recipient: the SMS gateway's call. */
    check(request: CheckRequest, callback: (error: ServiceError | null, response: CheckResponse) => void): ClientUnaryCall;
    check(request: CheckRequest, metadata: Metadata, callback: (error: ServiceError | null, response: CheckResponse) => void): ClientUnaryCall;
    check(request: CheckRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: CheckResponse) => void): ClientUnaryCall;
    /**
     * Bulk sends: the client streams batches of recipients; the server answers each batch
     * with one CheckStreamResponse, in the order the batches were sent. A batch whose
     * profile, purpose or topic is unknown ends the stream with INVALID_ARGUMENT naming the
     * field; a malformed contact point is a per-item REASON_INVALID_CONTACT_POINT and the
     * stream goes on.
     */
    checkStream(): ClientDuplexStream<CheckStreamRequest, CheckStreamResponse>;
    checkStream(options: Partial<CallOptions>): ClientDuplexStream<CheckStreamRequest, CheckStreamResponse>;
    checkStream(metadata: Metadata, options?: Partial<CallOptions>): ClientDuplexStream<CheckStreamRequest, CheckStreamResponse>;
    /**
     * The recipient's links for one message: the RFC 8058 one-click unsubscribe URL with
     * the List-Unsubscribe and List-Unsubscribe-Post header values, and the preference
     * center URL. Links are signed tokens for the HTTP edge (`--http-addr`); they carry a
     * keyed hash of the contact point and the contact point sealed, never in clear, and the
     * id of the calling API key, which history records as the actor (`edge:<key id>`) of every
     * change made with them. Needs the `write` scope: a preferences link opts in as well as out.
     */
    mintLinks(request: MintLinksRequest, callback: (error: ServiceError | null, response: MintLinksResponse) => void): ClientUnaryCall;
    mintLinks(request: MintLinksRequest, metadata: Metadata, callback: (error: ServiceError | null, response: MintLinksResponse) => void): ClientUnaryCall;
    mintLinks(request: MintLinksRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: MintLinksResponse) => void): ClientUnaryCall;
}
export declare const DecisionServiceClient: {
    new (address: string, credentials: ChannelCredentials, options?: Partial<ClientOptions>): DecisionServiceClient;
    service: typeof DecisionServiceService;
    serviceName: string;
};
type Builtin = Date | Function | Uint8Array | string | number | boolean | undefined;
export type DeepPartial<T> = T extends Builtin ? T : T extends globalThis.Array<infer U> ? globalThis.Array<DeepPartial<U>> : T extends ReadonlyArray<infer U> ? ReadonlyArray<DeepPartial<U>> : T extends {} ? {
    [K in keyof T]?: DeepPartial<T[K]>;
} : Partial<T>;
type KeysOfUnion<T> = T extends T ? keyof T : never;
export type Exact<P, I extends P> = P extends Builtin ? P : P & {
    [K in keyof P]: Exact<P[K], I[K]>;
} & {
    [K in Exclude<keyof I, KeysOfUnion<P>>]: never;
};
export interface MessageFns<T> {
    encode(message: T, writer?: BinaryWriter): BinaryWriter;
    decode(input: BinaryReader | Uint8Array, length?: number): T;
    fromJSON(object: any): T;
    toJSON(message: T): unknown;
    create<I extends Exact<DeepPartial<T>, I>>(base?: I): T;
    fromPartial<I extends Exact<DeepPartial<T>, I>>(object: I): T;
}
export {};

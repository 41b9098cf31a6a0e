import { BinaryReader, BinaryWriter } from "@bufbuild/protobuf/wire";
import { type CallOptions, type ChannelCredentials, Client, type ClientOptions, type ClientReadableStream, type ClientUnaryCall, type handleServerStreamingCall, type handleUnaryCall, type Metadata, type ServiceError, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { ChangeSource, Channel, ConsentRecord, ConsentStatus, Proof, Suppression, SuppressionKind } from "./types";
export declare const protobufPackage = "consent.v1";
export declare const protobufFileName = "consent/v1/consent.proto";
export declare enum ChangeOutcome {
    UNSPECIFIED = 0,
    /** APPLIED - Applied; the state changed and a new revision was assigned. */
    APPLIED = 1,
    /** PENDING_CONFIRMATION - Applied as pending double opt-in; a confirmation token is returned. */
    PENDING_CONFIRMATION = 2,
    /** SUPERSEDED - Not applied: a newer change (or an opt-out at the same time) is stored. Kept in history. */
    SUPERSEDED = 3,
    UNRECOGNIZED = -1
}
export declare function changeOutcomeFromJSON(object: any): ChangeOutcome;
export declare function changeOutcomeToJSON(object: ChangeOutcome): string;
export declare enum EventKind {
    UNSPECIFIED = 0,
    CONSENT = 1,
    CONFIRMATION = 2,
    SUPPRESSION_ADDED = 3,
    SUPPRESSION_LIFTED = 4,
    /** ERASED - The contact point was erased; the events before it were redacted. */
    ERASED = 5,
    /** REASSIGNED - The number was reassigned; occurred_at is its disconnection. */
    REASSIGNED = 6,
    UNRECOGNIZED = -1
}
export declare function eventKindFromJSON(object: any): EventKind;
export declare function eventKindToJSON(object: EventKind): string;
export declare enum KeywordClass {
    UNSPECIFIED = 0,
    /** NONE - No keyword matched; nothing changed. */
    NONE = 1,
    STOP = 2,
    START = 3,
    HELP = 4,
    UNRECOGNIZED = -1
}
export declare function keywordClassFromJSON(object: any): KeywordClass;
export declare function keywordClassToJSON(object: KeywordClass): string;
export interface MoveContactPointRequest {
    profileId: string;
    /** Any channel of the contact points' kind: the move covers them all. */
    channel: Channel;
    /** The contact point moved from, and to. */
    from: string;
    to: string;
    /** Evidence of the move (the person's request); kept with every change it writes. */
    proof: Proof | undefined;
    /** When the person told of the move. Default: server time. */
    occurredAt: Date | undefined;
    source: ChangeSource;
}
export interface MoveContactPointResponse {
    channels: Channel[];
    /** Records and suppressions newly written on `to` (0 when moved before). */
    moved: number;
    /** Whether the MOVED suppression was newly added to `from` on some channel. */
    suppressed: boolean;
    revision: number;
}
export interface EraseContactPointRequest {
    profileId: string;
    /**
     * Any channel of the contact point's kind: the erasure covers them all (email; sms,
     * whatsapp and voice; push and custom).
     */
    channel: Channel;
    contactPoint: string;
}
export interface EraseContactPointResponse {
    /** The channels erased. */
    channels: Channel[];
    /** The revision of the last of them. */
    revision: number;
}
export interface ReassignedNumber {
    /** E.164 (`+12025550123`), or national with `default_region`. */
    number: string;
    /**
     * When the number was permanently disconnected. Consent that occurred at or before it
     * no longer counts. A date without a time means the end of that day (UTC).
     */
    disconnectedAt: Date | undefined;
}
export interface ReportReassignedNumbersRequest {
    /** At most 1000. */
    numbers: ReassignedNumber[];
    /** ISO 3166 region for numbers without a country code, e.g. `US`; empty: E.164 only. */
    defaultRegion: string;
}
export interface ReassignedNumberResult {
    /** The number in E.164; the number as sent when it was refused. */
    number: string;
    /** False when an equal or later disconnection was recorded already, or on error. */
    applied: boolean;
    /** Why this number was refused (an invalid number or date); empty on success. */
    error: string;
}
export interface ReportReassignedNumbersResponse {
    results: ReassignedNumberResult[];
    /** The store's revision after the last change of this request. */
    revision: number;
}
/** One change to the consent of one contact point for one purpose or topic. */
export interface ConsentChange {
    profileId: string;
    channel: Channel;
    contactPoint: string;
    purposeId: string;
    /** Empty for the purpose itself. */
    topicId: string;
    /**
     * CONSENT_STATUS_OPTED_IN or CONSENT_STATUS_OPTED_OUT. Under double opt-in an opt-in
     * is stored as pending and a confirmation token is returned.
     */
    status: ConsentStatus;
    /** When the person acted, as the source system saw it. Default: server time. */
    occurredAt: Date | undefined;
    source: ChangeSource;
    reason: string;
    proof: Proof | undefined;
    /** Optional: when an opt-in lapses. */
    expiresAt: Date | undefined;
}
export interface ChangeResult {
    outcome: ChangeOutcome;
    /** The new revision when applied; the store's revision at evaluation when superseded. */
    revision: number;
    /** Set for CHANGE_OUTCOME_PENDING_CONFIRMATION. */
    confirmationToken: string;
    confirmationExpiresAt: Date | undefined;
    /** The record's state after this change was evaluated. */
    record: ConsentRecord | undefined;
    /** True when this answer was replayed for a repeated idempotency key. */
    replayed: boolean;
    /**
     * With CHANGE_OUTCOME_PENDING_CONFIRMATION and the HTTP edge on: the page that confirms
     * the opt-in (`<public url>/c/<confirmation_token>`), to send to the recipient.
     */
    confirmationUrl: string;
}
export interface SetConsentRequest {
    change: ConsentChange | undefined;
    /**
     * Optional. Same key and same content returns the original answer; same key with
     * other content fails with ALREADY_EXISTS.
     */
    idempotencyKey: string;
}
export interface SetConsentResponse {
    result: ChangeResult | undefined;
}
export interface BatchSetConsentRequest {
    /** At most the server's batch limit (see README); more fails the whole call. */
    requests: SetConsentRequest[];
    /**
     * Check every item exactly as a write would (profile, purpose, topic, channel, contact
     * point, times, proof) and answer each with VALIDATED or its error; write nothing. Needs
     * the `write` scope, as the write itself does. Refusals that depend on stored state (an
     * idempotency key reused with other content) are not predicted.
     */
    validateOnly: boolean;
}
export interface BatchSetConsentResponse {
    /** One per request, same order. */
    results: BatchSetConsentResult[];
}
export interface BatchSetConsentResult {
    change?: ChangeResult | undefined;
    error?: ItemError | undefined;
    /** With validate_only: the item would be written. */
    validated?: ValidatedChange | undefined;
}
/** An item a validate_only batch found writable. */
export interface ValidatedChange {
    /** The contact point as it would be stored (normalized). */
    contactPoint: string;
}
/** Why one item of a batch failed. */
export interface ItemError {
    /** The gRPC status code the item would have failed with on its own. */
    code: number;
    /** The offending field, e.g. "change.contact_point". */
    field: string;
    message: string;
}
export interface GetConsentRequest {
    profileId: string;
    channel: Channel;
    contactPoint: string;
}
export interface GetConsentResponse {
    /** The normalized contact point. */
    contactPoint: string;
    records: ConsentRecord[];
    suppressions: Suppression[];
    revision: number;
    /** Phone numbers: the latest reported disconnection (ReportReassignedNumbers). */
    reassignedAt: Date | undefined;
    /** When it was erased (EraseContactPoint); its plaintext is then not kept. */
    erasedAt: Date | undefined;
}
export interface GetHistoryRequest {
    profileId: string;
    channel: Channel;
    contactPoint: string;
    /** At most 1000; 0 means 100. */
    pageSize: number;
    pageToken: string;
}
export interface GetHistoryResponse {
    events: HistoryEvent[];
    nextPageToken: string;
    /**
     * Verification of the whole chain, not only this page. A long chain verified by an
     * earlier call is checked from where that call ended (the event there must still carry
     * the hash it had), so paging reads the chain once; a restart, and the server's
     * background verification, read every chain whole.
     */
    verification: ChainVerification | undefined;
}
export interface ChainVerification {
    intact: boolean;
    eventsChecked: number;
    /** When not intact: the sequence number of the first event whose link is broken. */
    firstBrokenSeq: number;
    detail: string;
    /**
     * The events this answer read to verify the chain (fewer than events_checked when an
     * earlier call had verified its beginning).
     */
    eventsRead: number;
}
export interface HistoryEvent {
    /** Position in this contact point's chain, from 1. */
    seq: number;
    kind: EventKind;
    /** True when applied; false when superseded by a newer change. */
    applied: boolean;
    /** The revision assigned when applied; 0 when superseded. */
    revision: number;
    purposeId: string;
    topicId: string;
    status: ConsentStatus;
    suppressionKind: SuppressionKind;
    occurredAt: Date | undefined;
    recordedAt: Date | undefined;
    expiresAt: Date | undefined;
    source: ChangeSource;
    actor: string;
    reason: string;
    proof: Proof | undefined;
    /** Double opt-in: the token id a pending record waits on, or the one confirmed. */
    tokenId: string;
    /** Double opt-in confirmation: the confirming request's evidence. */
    confirmationProof: Proof | undefined;
    confirmedAt: Date | undefined;
    /** Hex SHA-256 of the previous event's hash and this event's canonical encoding. */
    hash: string;
    prevHash: string;
    /**
     * Personal data removed by an erasure: `hash` is the original event's, vouched for by
     * the erasure event that follows.
     */
    redacted: boolean;
    /** An opt-in with proof of a new consent that lifted an erasure's tombstone. */
    liftsErasure: boolean;
}
export interface ConfirmOptInRequest {
    token: string;
    /** The confirming request's own evidence (the click on the confirmation link). */
    ipAddress: string;
    userAgent: string;
    /** Default: server time. */
    occurredAt: Date | undefined;
}
export interface ConfirmOptInResponse {
    result: ChangeResult | undefined;
}
export interface AddSuppressionRequest {
    profileId: string;
    channel: Channel;
    contactPoint: string;
    kind: SuppressionKind;
    reason: string;
    occurredAt: Date | undefined;
    source: ChangeSource;
    /**
     * Check the request as the write would, and write nothing: the answer is changed=false,
     * revision 0, or the error the write would fail with.
     */
    validateOnly: boolean;
}
export interface AddSuppressionResponse {
    /** False when this kind was already active (nothing changed). */
    changed: boolean;
    revision: number;
}
export interface LiftSuppressionRequest {
    profileId: string;
    channel: Channel;
    contactPoint: string;
    kind: SuppressionKind;
    reason: string;
    occurredAt: Date | undefined;
    source: ChangeSource;
}
export interface LiftSuppressionResponse {
    /** False when this kind was not active. */
    changed: boolean;
    revision: number;
}
export interface HandleInboundSmsRequest {
    profileId: string;
    /** The sender's number; parsed with the profile's default region. */
    fromNumber: string;
    body: string;
    occurredAt: Date | undefined;
}
export interface HandleInboundSmsResponse {
    keywordClass: KeywordClass;
    /** The keyword as matched (upper-case), empty for KEYWORD_CLASS_NONE. */
    keyword: string;
    changed: boolean;
    revision: number;
}
export interface WatchChangesRequest {
    /** Changes with a revision greater than this one. 0: from the beginning. */
    afterRevision: number;
    /** Optional filter; always narrowed to the profiles the API key may read. */
    profileIds: string[];
}
export interface WatchChangesResponse {
    revision: number;
    profileId: string;
    channel: Channel;
    /** The normalized contact point. */
    contactPoint: string;
    event: HistoryEvent | undefined;
}
export interface ExportRecordsRequest {
    profileId: string;
    /** Also send each contact point's history events, oldest first. */
    includeHistory: boolean;
}
/**
 * One contact point. With include_history, a history longer than 500 events is paged: the
 * first message of a contact point carries its records, suppressions and first events, the
 * messages right after it only further events of the same contact point.
 */
export interface ExportRecordsResponse {
    channel: Channel;
    /** The normalized contact point. */
    contactPoint: string;
    records: ConsentRecord[];
    suppressions: Suppression[];
    events: HistoryEvent[];
    /** Phone numbers: the latest reported disconnection. */
    reassignedAt: Date | undefined;
    /** An erased contact point's tombstone: `contact_point` is then empty. */
    erasedAt: Date | undefined;
}
export declare const MoveContactPointRequest: MessageFns<MoveContactPointRequest>;
export declare const MoveContactPointResponse: MessageFns<MoveContactPointResponse>;
export declare const EraseContactPointRequest: MessageFns<EraseContactPointRequest>;
export declare const EraseContactPointResponse: MessageFns<EraseContactPointResponse>;
export declare const ReassignedNumber: MessageFns<ReassignedNumber>;
export declare const ReportReassignedNumbersRequest: MessageFns<ReportReassignedNumbersRequest>;
export declare const ReassignedNumberResult: MessageFns<ReassignedNumberResult>;
export declare const ReportReassignedNumbersResponse: MessageFns<ReportReassignedNumbersResponse>;
export declare const ConsentChange: MessageFns<ConsentChange>;
export declare const ChangeResult: MessageFns<ChangeResult>;
export declare const SetConsentRequest: MessageFns<SetConsentRequest>;
export declare const SetConsentResponse: MessageFns<SetConsentResponse>;
export declare const BatchSetConsentRequest: MessageFns<BatchSetConsentRequest>;
export declare const BatchSetConsentResponse: MessageFns<BatchSetConsentResponse>;
export declare const BatchSetConsentResult: MessageFns<BatchSetConsentResult>;
export declare const ValidatedChange: MessageFns<ValidatedChange>;
export declare const ItemError: MessageFns<ItemError>;
export declare const GetConsentRequest: MessageFns<GetConsentRequest>;
export declare const GetConsentResponse: MessageFns<GetConsentResponse>;
export declare const GetHistoryRequest: MessageFns<GetHistoryRequest>;
export declare const GetHistoryResponse: MessageFns<GetHistoryResponse>;
export declare const ChainVerification: MessageFns<ChainVerification>;
export declare const HistoryEvent: MessageFns<HistoryEvent>;
export declare const ConfirmOptInRequest: MessageFns<ConfirmOptInRequest>;
export declare const ConfirmOptInResponse: MessageFns<ConfirmOptInResponse>;
export declare const AddSuppressionRequest: MessageFns<AddSuppressionRequest>;
export declare const AddSuppressionResponse: MessageFns<AddSuppressionResponse>;
export declare const LiftSuppressionRequest: MessageFns<LiftSuppressionRequest>;
export declare const LiftSuppressionResponse: MessageFns<LiftSuppressionResponse>;
export declare const HandleInboundSmsRequest: MessageFns<HandleInboundSmsRequest>;
export declare const HandleInboundSmsResponse: MessageFns<HandleInboundSmsResponse>;
export declare const WatchChangesRequest: MessageFns<WatchChangesRequest>;
export declare const WatchChangesResponse: MessageFns<WatchChangesResponse>;
export declare const ExportRecordsRequest: MessageFns<ExportRecordsRequest>;
export declare const ExportRecordsResponse: MessageFns<ExportRecordsResponse>;
/** Writes and reads of consent state, its history and the change feed. */
export type ConsentServiceService = typeof ConsentServiceService;
export declare const ConsentServiceService: {
    /**
     * Records one consent change. Late changes (older occurred_at than the stored one) are
     * kept in the history as superseded and reported as not applied.
     */
    readonly setConsent: {
        readonly path: "/consent.v1.ConsentService/SetConsent";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: SetConsentRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => SetConsentRequest;
        readonly responseSerialize: (value: SetConsentResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => SetConsentResponse;
    };
    /**
     * Records many changes. Not atomic: each item succeeds or fails on its own, and the
     * response has one result per request, in order (partial success).
     */
    readonly batchSetConsent: {
        readonly path: "/consent.v1.ConsentService/BatchSetConsent";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: BatchSetConsentRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => BatchSetConsentRequest;
        readonly responseSerialize: (value: BatchSetConsentResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => BatchSetConsentResponse;
    };
    /** The current records and active suppressions of one contact point on one channel. */
    readonly getConsent: {
        readonly path: "/consent.v1.ConsentService/GetConsent";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: GetConsentRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => GetConsentRequest;
        readonly responseSerialize: (value: GetConsentResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => GetConsentResponse;
    };
    /** The hash-chained history of one contact point on one channel, with its verification. */
    readonly getHistory: {
        readonly path: "/consent.v1.ConsentService/GetHistory";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: GetHistoryRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => GetHistoryRequest;
        readonly responseSerialize: (value: GetHistoryResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => GetHistoryResponse;
    };
    /** Confirms a double opt-in: turns the pending record the token names into opted_in. */
    readonly confirmOptIn: {
        readonly path: "/consent.v1.ConsentService/ConfirmOptIn";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: ConfirmOptInRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => ConfirmOptInRequest;
        readonly responseSerialize: (value: ConfirmOptInResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => ConfirmOptInResponse;
    };
    /** Adds a channel-wide suppression of one kind. */
    readonly addSuppression: {
        readonly path: "/consent.v1.ConsentService/AddSuppression";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: AddSuppressionRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => AddSuppressionRequest;
        readonly responseSerialize: (value: AddSuppressionResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => AddSuppressionResponse;
    };
    /** Lifts a suppression of one kind; other kinds stay. */
    readonly liftSuppression: {
        readonly path: "/consent.v1.ConsentService/LiftSuppression";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: LiftSuppressionRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => LiftSuppressionRequest;
        readonly responseSerialize: (value: LiftSuppressionResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => LiftSuppressionResponse;
    };
    /** An inbound SMS to a profile: STOP-class keywords suppress, START-class lift. */
    readonly handleInboundSms: {
        readonly path: "/consent.v1.ConsentService/HandleInboundSms";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: HandleInboundSmsRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => HandleInboundSmsRequest;
        readonly responseSerialize: (value: HandleInboundSmsResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => HandleInboundSmsResponse;
    };
    /**
     * Every applied change after a revision, in revision order, then live changes.
     * Reconnecting with the last revision seen misses nothing and repeats nothing.
     */
    readonly watchChanges: {
        readonly path: "/consent.v1.ConsentService/WatchChanges";
        readonly requestStream: false;
        readonly responseStream: true;
        readonly requestSerialize: (value: WatchChangesRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => WatchChangesRequest;
        readonly responseSerialize: (value: WatchChangesResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => WatchChangesResponse;
    };
    /**
     * Every contact point of a profile with its current records and suppressions (and, on
     * request, its whole history), for bulk export. Streamed; order is by internal key.
     */
    readonly exportRecords: {
        readonly path: "/consent.v1.ConsentService/ExportRecords";
        readonly requestStream: false;
        readonly responseStream: true;
        readonly requestSerialize: (value: ExportRecordsRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => ExportRecordsRequest;
        readonly responseSerialize: (value: ExportRecordsResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => ExportRecordsResponse;
    };
    /**
     * Erases a contact point at its owner's request (GDPR Art. 17) on every channel of its
     * kind in one profile: its records and plaintext go, its history loses its personal data
     * (IP addresses, user agents, free text; each event keeps its hash), and a tombstone
     * (suppression kind ERASED) stays under the keyed hash. Answered once the erased data is
     * gone from the data directory's files too.
     */
    readonly eraseContactPoint: {
        readonly path: "/consent.v1.ConsentService/EraseContactPoint";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: EraseContactPointRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => EraseContactPointRequest;
        readonly responseSerialize: (value: EraseContactPointResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => EraseContactPointResponse;
    };
    /**
     * Phone numbers that were permanently disconnected: consent recorded up to each number's
     * disconnection no longer counts (REASON_CONTACT_POINT_REASSIGNED); on every profile the
     * key may write and every phone channel. Partial success: one result per number.
     */
    readonly reportReassignedNumbers: {
        readonly path: "/consent.v1.ConsentService/ReportReassignedNumbers";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: ReportReassignedNumbersRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => ReportReassignedNumbersRequest;
        readonly responseSerialize: (value: ReportReassignedNumbersResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => ReportReassignedNumbersResponse;
    };
    /**
     * The person moved to another address or number: their opt-ins and opt-outs (and their
     * own objections: SMS STOP, spam complaint, manual suppression) are recorded on the new
     * one with their original times, and the old one keeps a suppression of kind MOVED; on
     * every channel of the kind. Idempotent: moving again changes nothing.
     */
    readonly moveContactPoint: {
        readonly path: "/consent.v1.ConsentService/MoveContactPoint";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: MoveContactPointRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => MoveContactPointRequest;
        readonly responseSerialize: (value: MoveContactPointResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => MoveContactPointResponse;
    };
};
export interface ConsentServiceServer extends UntypedServiceImplementation {
    /**
     * Records one consent change. Late changes (older occurred_at than the stored one) are
     * kept in the history as superseded and reported as not applied.
     */
    setConsent: handleUnaryCall<SetConsentRequest, SetConsentResponse>;
    /**
     * Records many changes. Not atomic: each item succeeds or fails on its own, and the
     * response has one result per request, in order (partial success).
     */
    batchSetConsent: handleUnaryCall<BatchSetConsentRequest, BatchSetConsentResponse>;
    /** The current records and active suppressions of one contact point on one channel. */
    getConsent: handleUnaryCall<GetConsentRequest, GetConsentResponse>;
    /** The hash-chained history of one contact point on one channel, with its verification. */
    getHistory: handleUnaryCall<GetHistoryRequest, GetHistoryResponse>;
    /** Confirms a double opt-in: turns the pending record the token names into opted_in. */
    confirmOptIn: handleUnaryCall<ConfirmOptInRequest, ConfirmOptInResponse>;
    /** Adds a channel-wide suppression of one kind. */
    addSuppression: handleUnaryCall<AddSuppressionRequest, AddSuppressionResponse>;
    /** Lifts a suppression of one kind; other kinds stay. */
    liftSuppression: handleUnaryCall<LiftSuppressionRequest, LiftSuppressionResponse>;
    /** An inbound SMS to a profile: STOP-class keywords suppress, START-class lift. */
    handleInboundSms: handleUnaryCall<HandleInboundSmsRequest, HandleInboundSmsResponse>;
    /**
     * Every applied change after a revision, in revision order, then live changes.
     * Reconnecting with the last revision seen misses nothing and repeats nothing.
     */
    watchChanges: handleServerStreamingCall<WatchChangesRequest, WatchChangesResponse>;
    /**
     * Every contact point of a profile with its current records and suppressions (and, on
     * request, its whole history), for bulk export. Streamed; order is by internal key.
     */
    exportRecords: handleServerStreamingCall<ExportRecordsRequest, ExportRecordsResponse>;
    /**
     * Erases a contact point at its owner's request (GDPR Art. 17) on every channel of its
     * kind in one profile: its records and plaintext go, its history loses its personal data
     * (IP addresses, user agents, free text; each event keeps its hash), and a tombstone
     * (suppression kind ERASED) stays under the keyed hash. Answered once the erased data is
     * gone from the data directory's files too.
     */
    eraseContactPoint: handleUnaryCall<EraseContactPointRequest, EraseContactPointResponse>;
    /**
     * Phone numbers that were permanently disconnected: consent recorded up to each number's
     * disconnection no longer counts (REASON_CONTACT_POINT_REASSIGNED); on every profile the
     * key may write and every phone channel. Partial success: one result per number.
     */
    reportReassignedNumbers: handleUnaryCall<ReportReassignedNumbersRequest, ReportReassignedNumbersResponse>;
    /**
     * The person moved to another address or number: their opt-ins and opt-outs (and their
     * own objections: SMS STOP, spam complaint, manual suppression) are recorded on the new
     * one with their original times, and the old one keeps a suppression of kind MOVED; on
     * every channel of the kind. Idempotent: moving again changes nothing.
     */
    moveContactPoint: handleUnaryCall<MoveContactPointRequest, MoveContactPointResponse>;
}
export interface ConsentServiceClient extends Client {
    /**
     * Records one consent change. Late changes (older occurred_at than the stored one) are
     * kept in the history as superseded and reported as not applied.
     */
    setConsent(request: SetConsentRequest, callback: (error: ServiceError | null, response: SetConsentResponse) => void): ClientUnaryCall;
    setConsent(request: SetConsentRequest, metadata: Metadata, callback: (error: ServiceError | null, response: SetConsentResponse) => void): ClientUnaryCall;
    setConsent(request: SetConsentRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: SetConsentResponse) => void): ClientUnaryCall;
    /**
     * Records many changes. Not atomic: each item succeeds or fails on its own, and the
     * response has one result per request, in order (partial success).
     */
    batchSetConsent(request: BatchSetConsentRequest, callback: (error: ServiceError | null, response: BatchSetConsentResponse) => void): ClientUnaryCall;
    batchSetConsent(request: BatchSetConsentRequest, metadata: Metadata, callback: (error: ServiceError | null, response: BatchSetConsentResponse) => void): ClientUnaryCall;
    batchSetConsent(request: BatchSetConsentRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: BatchSetConsentResponse) => void): ClientUnaryCall;
    /** The current records and active suppressions of one contact point on one channel. */
    getConsent(request: GetConsentRequest, callback: (error: ServiceError | null, response: GetConsentResponse) => void): ClientUnaryCall;
    getConsent(request: GetConsentRequest, metadata: Metadata, callback: (error: ServiceError | null, response: GetConsentResponse) => void): ClientUnaryCall;
    getConsent(request: GetConsentRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: GetConsentResponse) => void): ClientUnaryCall;
    /** The hash-chained history of one contact point on one channel, with its verification. */
    getHistory(request: GetHistoryRequest, callback: (error: ServiceError | null, response: GetHistoryResponse) => void): ClientUnaryCall;
    getHistory(request: GetHistoryRequest, metadata: Metadata, callback: (error: ServiceError | null, response: GetHistoryResponse) => void): ClientUnaryCall;
    getHistory(request: GetHistoryRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: GetHistoryResponse) => void): ClientUnaryCall;
    /** Confirms a double opt-in: turns the pending record the token names into opted_in. */
    confirmOptIn(request: ConfirmOptInRequest, callback: (error: ServiceError | null, response: ConfirmOptInResponse) => void): ClientUnaryCall;
    confirmOptIn(request: ConfirmOptInRequest, metadata: Metadata, callback: (error: ServiceError | null, response: ConfirmOptInResponse) => void): ClientUnaryCall;
    confirmOptIn(request: ConfirmOptInRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: ConfirmOptInResponse) => void): ClientUnaryCall;
    /** Adds a channel-wide suppression of one kind. */
    addSuppression(request: AddSuppressionRequest, callback: (error: ServiceError | null, response: AddSuppressionResponse) => void): ClientUnaryCall;
    addSuppression(request: AddSuppressionRequest, metadata: Metadata, callback: (error: ServiceError | null, response: AddSuppressionResponse) => void): ClientUnaryCall;
    addSuppression(request: AddSuppressionRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: AddSuppressionResponse) => void): ClientUnaryCall;
    /** Lifts a suppression of one kind; other kinds stay. */
    liftSuppression(request: LiftSuppressionRequest, callback: (error: ServiceError | null, response: LiftSuppressionResponse) => void): ClientUnaryCall;
    liftSuppression(request: LiftSuppressionRequest, metadata: Metadata, callback: (error: ServiceError | null, response: LiftSuppressionResponse) => void): ClientUnaryCall;
    liftSuppression(request: LiftSuppressionRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: LiftSuppressionResponse) => void): ClientUnaryCall;
    /** An inbound SMS to a profile: STOP-class keywords suppress, START-class lift. */
    handleInboundSms(request: HandleInboundSmsRequest, callback: (error: ServiceError | null, response: HandleInboundSmsResponse) => void): ClientUnaryCall;
    handleInboundSms(request: HandleInboundSmsRequest, metadata: Metadata, callback: (error: ServiceError | null, response: HandleInboundSmsResponse) => void): ClientUnaryCall;
    handleInboundSms(request: HandleInboundSmsRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: HandleInboundSmsResponse) => void): ClientUnaryCall;
    /**
     * Every applied change after a revision, in revision order, then live changes.
     * Reconnecting with the last revision seen misses nothing and repeats nothing.
     */
    watchChanges(request: WatchChangesRequest, options?: Partial<CallOptions>): ClientReadableStream<WatchChangesResponse>;
    watchChanges(request: WatchChangesRequest, metadata?: Metadata, options?: Partial<CallOptions>): ClientReadableStream<WatchChangesResponse>;
    /**
     * Every contact point of a profile with its current records and suppressions (and, on
     * request, its whole history), for bulk export. Streamed; order is by internal key.
     */
    exportRecords(request: ExportRecordsRequest, options?: Partial<CallOptions>): ClientReadableStream<ExportRecordsResponse>;
    exportRecords(request: ExportRecordsRequest, metadata?: Metadata, options?: Partial<CallOptions>): ClientReadableStream<ExportRecordsResponse>;
    /**
     * Erases a contact point at its owner's request (GDPR Art. 17) on every channel of its
     * kind in one profile: its records and plaintext go, its history loses its personal data
     * (IP addresses, user agents, free text; each event keeps its hash), and a tombstone
     * (suppression kind ERASED) stays under the keyed hash. Answered once the erased data is
     * gone from the data directory's files too.
     */
    eraseContactPoint(request: EraseContactPointRequest, callback: (error: ServiceError | null, response: EraseContactPointResponse) => void): ClientUnaryCall;
    eraseContactPoint(request: EraseContactPointRequest, metadata: Metadata, callback: (error: ServiceError | null, response: EraseContactPointResponse) => void): ClientUnaryCall;
    eraseContactPoint(request: EraseContactPointRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: EraseContactPointResponse) => void): ClientUnaryCall;
    /**
     * Phone numbers that were permanently disconnected: consent recorded up to each number's
     * disconnection no longer counts (REASON_CONTACT_POINT_REASSIGNED); on every profile the
     * key may write and every phone channel. Partial success: one result per number.
     */
    reportReassignedNumbers(request: ReportReassignedNumbersRequest, callback: (error: ServiceError | null, response: ReportReassignedNumbersResponse) => void): ClientUnaryCall;
    reportReassignedNumbers(request: ReportReassignedNumbersRequest, metadata: Metadata, callback: (error: ServiceError | null, response: ReportReassignedNumbersResponse) => void): ClientUnaryCall;
    reportReassignedNumbers(request: ReportReassignedNumbersRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: ReportReassignedNumbersResponse) => void): ClientUnaryCall;
    /**
     * The person moved to another address or number: their opt-ins and opt-outs (and their
     * own objections: SMS STOP, spam complaint, manual suppression) are recorded on the new
     * one with their original times, and the old one keeps a suppression of kind MOVED; on
     * every channel of the kind. Idempotent: moving again changes nothing.
     */
    moveContactPoint(request: MoveContactPointRequest, callback: (error: ServiceError | null, response: MoveContactPointResponse) => void): ClientUnaryCall;
    moveContactPoint(request: MoveContactPointRequest, metadata: Metadata, callback: (error: ServiceError | null, response: MoveContactPointResponse) => void): ClientUnaryCall;
    moveContactPoint(request: MoveContactPointRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: MoveContactPointResponse) => void): ClientUnaryCall;
}
export declare const ConsentServiceClient: {
    new (address: string, credentials: ChannelCredentials, options?: Partial<ClientOptions>): ConsentServiceClient;
    service: typeof ConsentServiceService;
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

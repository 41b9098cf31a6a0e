import { BinaryReader, BinaryWriter } from "@bufbuild/protobuf/wire";
import { type CallOptions, type ChannelCredentials, Client, type ClientOptions, type ClientUnaryCall, type handleUnaryCall, type Metadata, type ServiceError, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { Duration } from "../../google/protobuf/duration";
import { Reason } from "./decision";
import { Channel, EnforcementModel, PurposeKind } from "./types";
export declare const protobufPackage = "consent.v1";
export declare const protobufFileName = "consent/v1/admin.proto";
export declare enum SigningKeyKind {
    UNSPECIFIED = 0,
    /** LINK - The keys of the edge's link tokens (unsubscribe and preference links). */
    LINK = 1,
    /** RECEIPT - The Ed25519 keys of decision receipts (GetServerInfo.receipt_keys). */
    RECEIPT = 2,
    UNRECOGNIZED = -1
}
export declare function signingKeyKindFromJSON(object: any): SigningKeyKind;
export declare function signingKeyKindToJSON(object: SigningKeyKind): string;
export declare enum DoubleOptInMode {
    UNSPECIFIED = 0,
    OFF = 1,
    /** EVERY_OPT_IN - Every opt-in waits for confirmation. */
    EVERY_OPT_IN = 2,
    /** NEW_CONTACT_POINTS - Only opt-ins of contact points with no record yet for the purpose. */
    NEW_CONTACT_POINTS = 3,
    UNRECOGNIZED = -1
}
export declare function doubleOptInModeFromJSON(object: any): DoubleOptInMode;
export declare function doubleOptInModeToJSON(object: DoubleOptInMode): string;
export declare enum ApiKeyScope {
    UNSPECIFIED = 0,
    CHECK = 1,
    WRITE = 2,
    ADMIN = 3,
    UNRECOGNIZED = -1
}
export declare function apiKeyScopeFromJSON(object: any): ApiKeyScope;
export declare function apiKeyScopeToJSON(object: ApiKeyScope): string;
export declare enum WebhookEventKind {
    UNSPECIFIED = 0,
    /** CONSENT - Consent changes (opt-in, opt-out, pending double opt-in). */
    CONSENT = 1,
    /** SUPPRESSION - Suppressions added or lifted. */
    SUPPRESSION = 2,
    /** CONFIRMATION - Double opt-in confirmations. */
    CONFIRMATION = 3,
    /** LIFE - Erasures and number reassignments (the contact point's life). */
    LIFE = 4,
    UNRECOGNIZED = -1
}
export declare function webhookEventKindFromJSON(object: any): WebhookEventKind;
export declare function webhookEventKindToJSON(object: WebhookEventKind): string;
export interface RotateSigningKeyRequest {
    kind: SigningKeyKind;
}
export interface RotateSigningKeyResponse {
    /** The new key's id (the older ones are 1 up to it). */
    keyId: number;
}
export interface DoubleOptInSetting {
    channel: Channel;
    mode: DoubleOptInMode;
}
/** A brand or legal entity with its own settings. */
export interface Profile {
    /** Lower-case letters, digits, '-' and '_', 1 to 64 characters. Immutable. */
    profileId: string;
    displayName: string;
    /** ISO 3166-1 alpha-2 region for phone numbers without a country code, e.g. "NL". */
    defaultRegion: string;
    /** Channels not listed are DOUBLE_OPT_IN_MODE_OFF. */
    doubleOptIn: DoubleOptInSetting[];
    /** How long a pending double opt-in may be confirmed. Default 28 days. */
    confirmationValidity: Duration | undefined;
    /** Per-profile additions to the standard SMS keyword lists. */
    extraStopKeywords: string[];
    extraStartKeywords: string[];
    active: boolean;
    createTime: Date | undefined;
    updateTime: Date | undefined;
    /**
     * The HTTP edge's pages: the accent colour, `#rrggbb` (empty: the default blue), and the
     * language shown when the browser asks for neither Dutch nor English: "en" or "nl"
     * (empty: from default_region).
     */
    brandColor: string;
    defaultLanguage: string;
}
export interface ChannelEnforcement {
    channel: Channel;
    model: EnforcementModel;
}
/** Why a message is sent. Belongs to one profile. */
export interface Purpose {
    profileId: string;
    /** Same syntax as profile_id. Immutable. */
    purposeId: string;
    displayName: string;
    kind: PurposeKind;
    /**
     * Channels not listed take the kind's default (commercial and custom: restrictive,
     * transactional: non-restrictive).
     */
    enforcement: ChannelEnforcement[];
    active: boolean;
    createTime: Date | undefined;
    updateTime: Date | undefined;
}
/** A subcategory of a purpose; inherits the purpose's enforcement model. */
export interface Topic {
    profileId: string;
    purposeId: string;
    topicId: string;
    displayName: string;
    active: boolean;
    createTime: Date | undefined;
    updateTime: Date | undefined;
}
export interface ApiKey {
    /** Public identifier; the secret is "<key_id>.<secret>" and is sent as "authorization: Bearer ...". */
    keyId: string;
    description: string;
    scopes: ApiKeyScope[];
    /** Empty: every profile. */
    profileIds: string[];
    revoked: boolean;
    createTime: Date | undefined;
    /**
     * Unset: the key never expires. From this time on the key is refused, and open streams
     * made with it end.
     */
    expireTime: Date | undefined;
}
export interface CreateProfileRequest {
    profile: Profile | undefined;
}
export interface CreateProfileResponse {
    profile: Profile | undefined;
}
export interface GetProfileRequest {
    profileId: string;
}
export interface GetProfileResponse {
    profile: Profile | undefined;
}
export interface ListProfilesRequest {
    pageSize: number;
    pageToken: string;
    includeInactive: boolean;
}
export interface ListProfilesResponse {
    profiles: Profile[];
    nextPageToken: string;
}
export interface UpdateProfileRequest {
    profile: Profile | undefined;
    /** Fields to replace; profile_id, active and the times cannot be updated. */
    updateMask: string[] | undefined;
}
export interface UpdateProfileResponse {
    profile: Profile | undefined;
}
export interface DeactivateProfileRequest {
    profileId: string;
}
export interface DeactivateProfileResponse {
    profile: Profile | undefined;
}
export interface CreatePurposeRequest {
    purpose: Purpose | undefined;
}
export interface CreatePurposeResponse {
    purpose: Purpose | undefined;
}
export interface GetPurposeRequest {
    profileId: string;
    purposeId: string;
}
export interface GetPurposeResponse {
    purpose: Purpose | undefined;
}
export interface ListPurposesRequest {
    profileId: string;
    pageSize: number;
    pageToken: string;
    includeInactive: boolean;
}
export interface ListPurposesResponse {
    purposes: Purpose[];
    nextPageToken: string;
}
export interface UpdatePurposeRequest {
    purpose: Purpose | undefined;
    updateMask: string[] | undefined;
}
export interface UpdatePurposeResponse {
    purpose: Purpose | undefined;
}
export interface DeactivatePurposeRequest {
    profileId: string;
    purposeId: string;
}
export interface DeactivatePurposeResponse {
    purpose: Purpose | undefined;
}
export interface CreateTopicRequest {
    topic: Topic | undefined;
}
export interface CreateTopicResponse {
    topic: Topic | undefined;
}
export interface GetTopicRequest {
    profileId: string;
    purposeId: string;
    topicId: string;
}
export interface GetTopicResponse {
    topic: Topic | undefined;
}
export interface ListTopicsRequest {
    profileId: string;
    purposeId: string;
    pageSize: number;
    pageToken: string;
    includeInactive: boolean;
}
export interface ListTopicsResponse {
    topics: Topic[];
    nextPageToken: string;
}
export interface UpdateTopicRequest {
    topic: Topic | undefined;
    updateMask: string[] | undefined;
}
export interface UpdateTopicResponse {
    topic: Topic | undefined;
}
export interface DeactivateTopicRequest {
    profileId: string;
    purposeId: string;
    topicId: string;
}
export interface DeactivateTopicResponse {
    topic: Topic | undefined;
}
export interface CreateApiKeyRequest {
    description: string;
    scopes: ApiKeyScope[];
    profileIds: string[];
    /** Optional: when the key stops working (must be in the future). */
    expireTime: Date | undefined;
}
export interface CreateApiKeyResponse {
    apiKey: ApiKey | undefined;
    /** "<key_id>.<secret>": shown once, never stored. */
    secret: string;
}
export interface ListApiKeysRequest {
    pageSize: number;
    pageToken: string;
}
export interface ListApiKeysResponse {
    apiKeys: ApiKey[];
    nextPageToken: string;
}
export interface RevokeApiKeyRequest {
    keyId: string;
}
export interface RevokeApiKeyResponse {
    apiKey: ApiKey | undefined;
}
export interface GetStateDigestRequest {
    /**
     * Cluster mode: wait (up to the call's deadline, at most 10 s) until this node has
     * applied at least this revision.
     */
    minRevision: number;
}
export interface GetStateDigestResponse {
    /** The revision the digest was taken at (read from the same snapshot). */
    revision: number;
    /** SHA-256, lower-case hex. */
    digest: string;
    /** Stored keys the digest covers. */
    keys: number;
}
export interface GetServerInfoRequest {
}
export interface GetServerInfoResponse {
    /** consentd's version (semver). */
    version: string;
    /** The revision of the last change this node applied. */
    revision: number;
    /** True when writes go through a replicated log (cluster mode). */
    cluster: boolean;
    /**
     * Cluster mode: log entries this node skipped since it started, because they were not
     * written by a node of this cluster (no valid MAC), were not valid entries, or reached
     * the log too late (a copy published again). Each is an alert; every node skips the
     * same entries, so replicas stay equal.
     */
    clusterEntriesSkipped: number;
    /** The stream position of the last skipped entry (0: none) and why it was skipped. */
    clusterLastSkippedSeq: number;
    clusterLastSkippedReason: string;
    /** The public keys that verify decision receipts; the one marked signing signs new ones. */
    receiptKeys: ReceiptKey[];
}
export interface ReceiptKey {
    id: number;
    /** Ed25519, 32 bytes. */
    publicKey: Buffer;
    signing: boolean;
}
export interface Webhook {
    webhookId: string;
    /** https://...; http:// only to a loopback address. */
    url: string;
    /** Empty: every profile. */
    profileIds: string[];
    /** Empty: every kind. */
    eventKinds: WebhookEventKind[];
    /**
     * False: deliveries carry the contact point's keyed hash instead of the contact point,
     * and no IP address or user agent.
     */
    personalData: boolean;
    description: string;
    /**
     * Paused by an admin, or by the server after the retry budget ran out (last_error says
     * why). ReplayWebhook or an update of `paused` resumes it.
     */
    paused: boolean;
    /** Output only: the last revision delivered (or passed over as not subscribed). */
    deliveredRevision: number;
    /** Output only: revisions applied but not yet delivered. */
    lagRevisions: number;
    /** Output only: the last failed delivery's cause, and when. */
    lastError: string;
    lastErrorTime: Date | undefined;
    createTime: Date | undefined;
    /** Output only: signing secrets valid now (two during a rotation). */
    secrets: number;
    /**
     * Output only, cluster mode: the node delivering it now (`node-id/start`), empty while
     * no node holds its lease (paused, or between a node's stop and another's takeover).
     */
    deliveredBy: string;
}
export interface CreateWebhookRequest {
    webhook: Webhook | undefined;
    /** Optional "whsec_<base64>" (at least 24 bytes); empty: one is generated. */
    secret: string;
}
export interface CreateWebhookResponse {
    webhook: Webhook | undefined;
    /** "whsec_<base64>": shown once. */
    secret: string;
}
export interface ListWebhooksRequest {
}
export interface ListWebhooksResponse {
    webhooks: Webhook[];
}
export interface UpdateWebhookRequest {
    webhook: Webhook | undefined;
    /** Fields to replace: url, profile_ids, event_kinds, personal_data, description, paused. */
    updateMask: string[] | undefined;
    /**
     * Adds a new signing secret (this one, or a generated one when empty) that signs
     * beside the current one until `previous_secret_ttl` has passed (default one day).
     */
    rotateSecret: boolean;
    secret: string;
    previousSecretTtl: Duration | undefined;
}
export interface UpdateWebhookResponse {
    webhook: Webhook | undefined;
    /** The new secret after a rotation: shown once. */
    secret: string;
}
export interface DeleteWebhookRequest {
    webhookId: string;
}
export interface DeleteWebhookResponse {
}
export interface ReplayWebhookRequest {
    webhookId: string;
    /** Deliver every change with a revision of at least this one again. */
    fromRevision: number;
}
export interface ReplayWebhookResponse {
    webhook: Webhook | undefined;
}
export interface TestWebhookRequest {
    webhookId: string;
}
export interface TestWebhookResponse {
    /** The receiver's HTTP status; 0 when none was received. */
    statusCode: number;
    /** Why the delivery failed; empty on a 2xx answer. */
    error: string;
    /** The webhook-id of the test message. */
    messageId: string;
}
/**
 * A proposed change, in the requests that would make it. Every request must be of
 * `profile_id`; the simulation validates each as the real call would.
 */
export interface SimulateCatalogChangeRequest {
    profileId: string;
    /** As UpdatePurpose takes them: `enforcement` is what changes decisions. */
    purposeUpdates: UpdatePurposeRequest[];
    /**
     * As UpdateProfile takes it. No profile setting changes a stored contact point's decision
     * (default_region only changes how a number without a country code is read), so the
     * answer says so and counts nothing for it.
     */
    profileUpdate: UpdateProfileRequest | undefined;
    /** Deactivations: every request for what is deactivated would be refused. */
    deactivateProfile: boolean;
    deactivatePurposeIds: string[];
    deactivateTopics: DeactivateTopicRequest[];
    /** Samples (contact points) of each change: default 5, at most 100; 10,000 in all. */
    samplesPerChange?: number | undefined;
}
export interface SimulateCatalogChangeResponse {
    /**
     * Sends whose answer the change alters, by channel, purpose and topic. Sends whose
     * answer it does not alter are not listed: an empty list means no decision changes.
     */
    groups: SimulatedGroup[];
    /**
     * Contact points of the profile the server holds state for, per channel scanned (the
     * channels of `groups`). A contact point the server has never recorded anything for
     * is not counted: it decides NO_OPT_IN under restrictive and NOT_OPTED_OUT under
     * non-restrictive, before and after alike.
     */
    populations: SimulatedPopulation[];
    /** The revision the scan began at: changes written during the scan may or may not count. */
    revision: number;
    evaluateTime: Date | undefined;
    /** Parts of the request that change no decision, and why. */
    notes: string[];
    /** Whether the 10,000-sample limit left later groups with fewer samples. */
    samplesTruncated: boolean;
}
export interface SimulatedPopulation {
    channel: Channel;
    contactPoints: number;
}
export interface SimulatedGroup {
    channel: Channel;
    purposeId: string;
    /** Empty: sends for the purpose without a topic. */
    topicId: string;
    modelBefore: EnforcementModel;
    /** Unspecified when every such request would be refused (see `refused_because`). */
    modelAfter: EnforcementModel;
    /** Why every such request would be refused after the change (a deactivation), else empty. */
    refusedBecause: string;
    /**
     * Of the channel's contact points: how many send before and after, and how many change
     * between send and block.
     */
    contactPoints: number;
    sendBefore: number;
    sendAfter: number;
    decisionChanged: number;
    /** Each pair of different reasons with its count, most first. */
    transitions: SimulatedTransition[];
}
export interface SimulatedTransition {
    fromReason: Reason;
    /** REASON_UNSPECIFIED when the request would be refused. */
    toReason: Reason;
    contactPoints: number;
    /**
     * Contact points that make this change; an erased one reads "(erased)", since only its
     * keyed hash is kept.
     */
    samples: string[];
}
export declare const RotateSigningKeyRequest: MessageFns<RotateSigningKeyRequest>;
export declare const RotateSigningKeyResponse: MessageFns<RotateSigningKeyResponse>;
export declare const DoubleOptInSetting: MessageFns<DoubleOptInSetting>;
export declare const Profile: MessageFns<Profile>;
export declare const ChannelEnforcement: MessageFns<ChannelEnforcement>;
export declare const Purpose: MessageFns<Purpose>;
export declare const Topic: MessageFns<Topic>;
export declare const ApiKey: MessageFns<ApiKey>;
export declare const CreateProfileRequest: MessageFns<CreateProfileRequest>;
export declare const CreateProfileResponse: MessageFns<CreateProfileResponse>;
export declare const GetProfileRequest: MessageFns<GetProfileRequest>;
export declare const GetProfileResponse: MessageFns<GetProfileResponse>;
export declare const ListProfilesRequest: MessageFns<ListProfilesRequest>;
export declare const ListProfilesResponse: MessageFns<ListProfilesResponse>;
export declare const UpdateProfileRequest: MessageFns<UpdateProfileRequest>;
export declare const UpdateProfileResponse: MessageFns<UpdateProfileResponse>;
export declare const DeactivateProfileRequest: MessageFns<DeactivateProfileRequest>;
export declare const DeactivateProfileResponse: MessageFns<DeactivateProfileResponse>;
export declare const CreatePurposeRequest: MessageFns<CreatePurposeRequest>;
export declare const CreatePurposeResponse: MessageFns<CreatePurposeResponse>;
export declare const GetPurposeRequest: MessageFns<GetPurposeRequest>;
export declare const GetPurposeResponse: MessageFns<GetPurposeResponse>;
export declare const ListPurposesRequest: MessageFns<ListPurposesRequest>;
export declare const ListPurposesResponse: MessageFns<ListPurposesResponse>;
export declare const UpdatePurposeRequest: MessageFns<UpdatePurposeRequest>;
export declare const UpdatePurposeResponse: MessageFns<UpdatePurposeResponse>;
export declare const DeactivatePurposeRequest: MessageFns<DeactivatePurposeRequest>;
export declare const DeactivatePurposeResponse: MessageFns<DeactivatePurposeResponse>;
export declare const CreateTopicRequest: MessageFns<CreateTopicRequest>;
export declare const CreateTopicResponse: MessageFns<CreateTopicResponse>;
export declare const GetTopicRequest: MessageFns<GetTopicRequest>;
export declare const GetTopicResponse: MessageFns<GetTopicResponse>;
export declare const ListTopicsRequest: MessageFns<ListTopicsRequest>;
export declare const ListTopicsResponse: MessageFns<ListTopicsResponse>;
export declare const UpdateTopicRequest: MessageFns<UpdateTopicRequest>;
export declare const UpdateTopicResponse: MessageFns<UpdateTopicResponse>;
export declare const DeactivateTopicRequest: MessageFns<DeactivateTopicRequest>;
export declare const DeactivateTopicResponse: MessageFns<DeactivateTopicResponse>;
export declare const CreateApiKeyRequest: MessageFns<CreateApiKeyRequest>;
export declare const CreateApiKeyResponse: MessageFns<CreateApiKeyResponse>;
export declare const ListApiKeysRequest: MessageFns<ListApiKeysRequest>;
export declare const ListApiKeysResponse: MessageFns<ListApiKeysResponse>;
export declare const RevokeApiKeyRequest: MessageFns<RevokeApiKeyRequest>;
export declare const RevokeApiKeyResponse: MessageFns<RevokeApiKeyResponse>;
export declare const GetStateDigestRequest: MessageFns<GetStateDigestRequest>;
export declare const GetStateDigestResponse: MessageFns<GetStateDigestResponse>;
export declare const GetServerInfoRequest: MessageFns<GetServerInfoRequest>;
export declare const GetServerInfoResponse: MessageFns<GetServerInfoResponse>;
export declare const ReceiptKey: MessageFns<ReceiptKey>;
export declare const Webhook: MessageFns<Webhook>;
export declare const CreateWebhookRequest: MessageFns<CreateWebhookRequest>;
export declare const CreateWebhookResponse: MessageFns<CreateWebhookResponse>;
export declare const ListWebhooksRequest: MessageFns<ListWebhooksRequest>;
export declare const ListWebhooksResponse: MessageFns<ListWebhooksResponse>;
export declare const UpdateWebhookRequest: MessageFns<UpdateWebhookRequest>;
export declare const UpdateWebhookResponse: MessageFns<UpdateWebhookResponse>;
export declare const DeleteWebhookRequest: MessageFns<DeleteWebhookRequest>;
export declare const DeleteWebhookResponse: MessageFns<DeleteWebhookResponse>;
export declare const ReplayWebhookRequest: MessageFns<ReplayWebhookRequest>;
export declare const ReplayWebhookResponse: MessageFns<ReplayWebhookResponse>;
export declare const TestWebhookRequest: MessageFns<TestWebhookRequest>;
export declare const TestWebhookResponse: MessageFns<TestWebhookResponse>;
export declare const SimulateCatalogChangeRequest: MessageFns<SimulateCatalogChangeRequest>;
export declare const SimulateCatalogChangeResponse: MessageFns<SimulateCatalogChangeResponse>;
export declare const SimulatedPopulation: MessageFns<SimulatedPopulation>;
export declare const SimulatedGroup: MessageFns<SimulatedGroup>;
export declare const SimulatedTransition: MessageFns<SimulatedTransition>;
/**
 * Compliance profiles, purposes, topics and API keys. Nothing is ever hard-deleted:
 * deactivation keeps history readable and makes new decisions and writes fail.
 */
export type AdminServiceService = typeof AdminServiceService;
export declare const AdminServiceService: {
    readonly createProfile: {
        readonly path: "/consent.v1.AdminService/CreateProfile";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: CreateProfileRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => CreateProfileRequest;
        readonly responseSerialize: (value: CreateProfileResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => CreateProfileResponse;
    };
    readonly getProfile: {
        readonly path: "/consent.v1.AdminService/GetProfile";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: GetProfileRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => GetProfileRequest;
        readonly responseSerialize: (value: GetProfileResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => GetProfileResponse;
    };
    readonly listProfiles: {
        readonly path: "/consent.v1.AdminService/ListProfiles";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: ListProfilesRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => ListProfilesRequest;
        readonly responseSerialize: (value: ListProfilesResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => ListProfilesResponse;
    };
    readonly updateProfile: {
        readonly path: "/consent.v1.AdminService/UpdateProfile";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: UpdateProfileRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => UpdateProfileRequest;
        readonly responseSerialize: (value: UpdateProfileResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => UpdateProfileResponse;
    };
    readonly deactivateProfile: {
        readonly path: "/consent.v1.AdminService/DeactivateProfile";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: DeactivateProfileRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => DeactivateProfileRequest;
        readonly responseSerialize: (value: DeactivateProfileResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => DeactivateProfileResponse;
    };
    readonly createPurpose: {
        readonly path: "/consent.v1.AdminService/CreatePurpose";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: CreatePurposeRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => CreatePurposeRequest;
        readonly responseSerialize: (value: CreatePurposeResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => CreatePurposeResponse;
    };
    readonly getPurpose: {
        readonly path: "/consent.v1.AdminService/GetPurpose";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: GetPurposeRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => GetPurposeRequest;
        readonly responseSerialize: (value: GetPurposeResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => GetPurposeResponse;
    };
    readonly listPurposes: {
        readonly path: "/consent.v1.AdminService/ListPurposes";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: ListPurposesRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => ListPurposesRequest;
        readonly responseSerialize: (value: ListPurposesResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => ListPurposesResponse;
    };
    readonly updatePurpose: {
        readonly path: "/consent.v1.AdminService/UpdatePurpose";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: UpdatePurposeRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => UpdatePurposeRequest;
        readonly responseSerialize: (value: UpdatePurposeResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => UpdatePurposeResponse;
    };
    readonly deactivatePurpose: {
        readonly path: "/consent.v1.AdminService/DeactivatePurpose";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: DeactivatePurposeRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => DeactivatePurposeRequest;
        readonly responseSerialize: (value: DeactivatePurposeResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => DeactivatePurposeResponse;
    };
    readonly createTopic: {
        readonly path: "/consent.v1.AdminService/CreateTopic";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: CreateTopicRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => CreateTopicRequest;
        readonly responseSerialize: (value: CreateTopicResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => CreateTopicResponse;
    };
    readonly getTopic: {
        readonly path: "/consent.v1.AdminService/GetTopic";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: GetTopicRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => GetTopicRequest;
        readonly responseSerialize: (value: GetTopicResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => GetTopicResponse;
    };
    readonly listTopics: {
        readonly path: "/consent.v1.AdminService/ListTopics";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: ListTopicsRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => ListTopicsRequest;
        readonly responseSerialize: (value: ListTopicsResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => ListTopicsResponse;
    };
    readonly updateTopic: {
        readonly path: "/consent.v1.AdminService/UpdateTopic";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: UpdateTopicRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => UpdateTopicRequest;
        readonly responseSerialize: (value: UpdateTopicResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => UpdateTopicResponse;
    };
    readonly deactivateTopic: {
        readonly path: "/consent.v1.AdminService/DeactivateTopic";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: DeactivateTopicRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => DeactivateTopicRequest;
        readonly responseSerialize: (value: DeactivateTopicResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => DeactivateTopicResponse;
    };
    /**
     * Policy simulation: how a proposed change of a profile's purposes, topics or settings
     * would change the decisions of every contact point the server holds for the profile,
     * without making it. Answers, per channel, purpose and topic, how many contact points
     * would go from which reason to which, with samples. Reads the hot index, not the disk
     * (but for the samples); one simulation runs at a time (RESOURCE_EXHAUSTED meanwhile).
     */
    readonly simulateCatalogChange: {
        readonly path: "/consent.v1.AdminService/SimulateCatalogChange";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: SimulateCatalogChangeRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => SimulateCatalogChangeRequest;
        readonly responseSerialize: (value: SimulateCatalogChangeResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => SimulateCatalogChangeResponse;
    };
    /** The secret is returned once, at creation; only its hash is stored. */
    readonly createApiKey: {
        readonly path: "/consent.v1.AdminService/CreateApiKey";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: CreateApiKeyRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => CreateApiKeyRequest;
        readonly responseSerialize: (value: CreateApiKeyResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => CreateApiKeyResponse;
    };
    readonly listApiKeys: {
        readonly path: "/consent.v1.AdminService/ListApiKeys";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: ListApiKeysRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => ListApiKeysRequest;
        readonly responseSerialize: (value: ListApiKeysResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => ListApiKeysResponse;
    };
    readonly revokeApiKey: {
        readonly path: "/consent.v1.AdminService/RevokeApiKey";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: RevokeApiKeyRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => RevokeApiKeyRequest;
        readonly responseSerialize: (value: RevokeApiKeyResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => RevokeApiKeyResponse;
    };
    /**
     * A digest of this node's replicated state (consent, history, configuration), to
     * compare the nodes of a cluster: equal revisions with equal digests are equal replicas.
     */
    readonly getStateDigest: {
        readonly path: "/consent.v1.AdminService/GetStateDigest";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: GetStateDigestRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => GetStateDigestRequest;
        readonly responseSerialize: (value: GetStateDigestResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => GetStateDigestResponse;
    };
    /**
     * What this server is: its version, the revision it has applied, whether it is a cluster
     * node. Any valid API key may ask (and anyone while the server has no keys), so load
     * testers and monitors with a check-only key can label what they measured.
     */
    readonly getServerInfo: {
        readonly path: "/consent.v1.AdminService/GetServerInfo";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: GetServerInfoRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => GetServerInfoRequest;
        readonly responseSerialize: (value: GetServerInfoResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => GetServerInfoResponse;
    };
    /**
     * Webhook subscriptions: every change of the subscribed kinds and profiles is POSTed to
     * the subscription's URL, in revision order, signed per the Standard Webhooks convention
     * (docs/webhooks.md). The signing secret is returned once, at creation or rotation.
     */
    readonly createWebhook: {
        readonly path: "/consent.v1.AdminService/CreateWebhook";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: CreateWebhookRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => CreateWebhookRequest;
        readonly responseSerialize: (value: CreateWebhookResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => CreateWebhookResponse;
    };
    readonly listWebhooks: {
        readonly path: "/consent.v1.AdminService/ListWebhooks";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: ListWebhooksRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => ListWebhooksRequest;
        readonly responseSerialize: (value: ListWebhooksResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => ListWebhooksResponse;
    };
    readonly updateWebhook: {
        readonly path: "/consent.v1.AdminService/UpdateWebhook";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: UpdateWebhookRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => UpdateWebhookRequest;
        readonly responseSerialize: (value: UpdateWebhookResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => UpdateWebhookResponse;
    };
    readonly deleteWebhook: {
        readonly path: "/consent.v1.AdminService/DeleteWebhook";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: DeleteWebhookRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => DeleteWebhookRequest;
        readonly responseSerialize: (value: DeleteWebhookResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => DeleteWebhookResponse;
    };
    /** Delivers again from a revision on (and resumes a paused subscription). */
    readonly replayWebhook: {
        readonly path: "/consent.v1.AdminService/ReplayWebhook";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: ReplayWebhookRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => ReplayWebhookRequest;
        readonly responseSerialize: (value: ReplayWebhookResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => ReplayWebhookResponse;
    };
    /** Sends one signed test event now and answers what the receiver said. */
    readonly testWebhook: {
        readonly path: "/consent.v1.AdminService/TestWebhook";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: TestWebhookRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => TestWebhookRequest;
        readonly responseSerialize: (value: TestWebhookResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => TestWebhookResponse;
    };
    /**
     * Adds a key that signs the edge's links, or decision receipts, from now on; links and
     * receipts signed with the older keys keep verifying. In a cluster the rotation goes
     * through the log and every node adds the same key, derived from the cluster secret (no
     * key travels). Needs an unrestricted admin key.
     */
    readonly rotateSigningKey: {
        readonly path: "/consent.v1.AdminService/RotateSigningKey";
        readonly requestStream: false;
        readonly responseStream: false;
        readonly requestSerialize: (value: RotateSigningKeyRequest) => Buffer;
        readonly requestDeserialize: (value: Buffer) => RotateSigningKeyRequest;
        readonly responseSerialize: (value: RotateSigningKeyResponse) => Buffer;
        readonly responseDeserialize: (value: Buffer) => RotateSigningKeyResponse;
    };
};
export interface AdminServiceServer extends UntypedServiceImplementation {
    createProfile: handleUnaryCall<CreateProfileRequest, CreateProfileResponse>;
    getProfile: handleUnaryCall<GetProfileRequest, GetProfileResponse>;
    listProfiles: handleUnaryCall<ListProfilesRequest, ListProfilesResponse>;
    updateProfile: handleUnaryCall<UpdateProfileRequest, UpdateProfileResponse>;
    deactivateProfile: handleUnaryCall<DeactivateProfileRequest, DeactivateProfileResponse>;
    createPurpose: handleUnaryCall<CreatePurposeRequest, CreatePurposeResponse>;
    getPurpose: handleUnaryCall<GetPurposeRequest, GetPurposeResponse>;
    listPurposes: handleUnaryCall<ListPurposesRequest, ListPurposesResponse>;
    updatePurpose: handleUnaryCall<UpdatePurposeRequest, UpdatePurposeResponse>;
    deactivatePurpose: handleUnaryCall<DeactivatePurposeRequest, DeactivatePurposeResponse>;
    createTopic: handleUnaryCall<CreateTopicRequest, CreateTopicResponse>;
    getTopic: handleUnaryCall<GetTopicRequest, GetTopicResponse>;
    listTopics: handleUnaryCall<ListTopicsRequest, ListTopicsResponse>;
    updateTopic: handleUnaryCall<UpdateTopicRequest, UpdateTopicResponse>;
    deactivateTopic: handleUnaryCall<DeactivateTopicRequest, DeactivateTopicResponse>;
    /**
     * Policy simulation: how a proposed change of a profile's purposes, topics or settings
     * would change the decisions of every contact point the server holds for the profile,
     * without making it. Answers, per channel, purpose and topic, how many contact points
     * would go from which reason to which, with samples. Reads the hot index, not the disk
     * (but for the samples); one simulation runs at a time (RESOURCE_EXHAUSTED meanwhile).
     */
    simulateCatalogChange: handleUnaryCall<SimulateCatalogChangeRequest, SimulateCatalogChangeResponse>;
    /** The secret is returned once, at creation; only its hash is stored. */
    createApiKey: handleUnaryCall<CreateApiKeyRequest, CreateApiKeyResponse>;
    listApiKeys: handleUnaryCall<ListApiKeysRequest, ListApiKeysResponse>;
    revokeApiKey: handleUnaryCall<RevokeApiKeyRequest, RevokeApiKeyResponse>;
    /**
     * A digest of this node's replicated state (consent, history, configuration), to
     * compare the nodes of a cluster: equal revisions with equal digests are equal replicas.
     */
    getStateDigest: handleUnaryCall<GetStateDigestRequest, GetStateDigestResponse>;
    /**
     * What this server is: its version, the revision it has applied, whether it is a cluster
     * node. Any valid API key may ask (and anyone while the server has no keys), so load
     * testers and monitors with a check-only key can label what they measured.
     */
    getServerInfo: handleUnaryCall<GetServerInfoRequest, GetServerInfoResponse>;
    /**
     * Webhook subscriptions: every change of the subscribed kinds and profiles is POSTed to
     * the subscription's URL, in revision order, signed per the Standard Webhooks convention
     * (docs/webhooks.md). The signing secret is returned once, at creation or rotation.
     */
    createWebhook: handleUnaryCall<CreateWebhookRequest, CreateWebhookResponse>;
    listWebhooks: handleUnaryCall<ListWebhooksRequest, ListWebhooksResponse>;
    updateWebhook: handleUnaryCall<UpdateWebhookRequest, UpdateWebhookResponse>;
    deleteWebhook: handleUnaryCall<DeleteWebhookRequest, DeleteWebhookResponse>;
    /** Delivers again from a revision on (and resumes a paused subscription). */
    replayWebhook: handleUnaryCall<ReplayWebhookRequest, ReplayWebhookResponse>;
    /** Sends one signed test event now and answers what the receiver said. */
    testWebhook: handleUnaryCall<TestWebhookRequest, TestWebhookResponse>;
    /**
     * Adds a key that signs the edge's links, or decision receipts, from now on; links and
     * receipts signed with the older keys keep verifying. In a cluster the rotation goes
     * through the log and every node adds the same key, derived from the cluster secret (no
     * key travels). Needs an unrestricted admin key.
     */
    rotateSigningKey: handleUnaryCall<RotateSigningKeyRequest, RotateSigningKeyResponse>;
}
export interface AdminServiceClient extends Client {
    createProfile(request: CreateProfileRequest, callback: (error: ServiceError | null, response: CreateProfileResponse) => void): ClientUnaryCall;
    createProfile(request: CreateProfileRequest, metadata: Metadata, callback: (error: ServiceError | null, response: CreateProfileResponse) => void): ClientUnaryCall;
    createProfile(request: CreateProfileRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: CreateProfileResponse) => void): ClientUnaryCall;
    getProfile(request: GetProfileRequest, callback: (error: ServiceError | null, response: GetProfileResponse) => void): ClientUnaryCall;
    getProfile(request: GetProfileRequest, metadata: Metadata, callback: (error: ServiceError | null, response: GetProfileResponse) => void): ClientUnaryCall;
    getProfile(request: GetProfileRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: GetProfileResponse) => void): ClientUnaryCall;
    listProfiles(request: ListProfilesRequest, callback: (error: ServiceError | null, response: ListProfilesResponse) => void): ClientUnaryCall;
    listProfiles(request: ListProfilesRequest, metadata: Metadata, callback: (error: ServiceError | null, response: ListProfilesResponse) => void): ClientUnaryCall;
    listProfiles(request: ListProfilesRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: ListProfilesResponse) => void): ClientUnaryCall;
    updateProfile(request: UpdateProfileRequest, callback: (error: ServiceError | null, response: UpdateProfileResponse) => void): ClientUnaryCall;
    updateProfile(request: UpdateProfileRequest, metadata: Metadata, callback: (error: ServiceError | null, response: UpdateProfileResponse) => void): ClientUnaryCall;
    updateProfile(request: UpdateProfileRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: UpdateProfileResponse) => void): ClientUnaryCall;
    deactivateProfile(request: DeactivateProfileRequest, callback: (error: ServiceError | null, response: DeactivateProfileResponse) => void): ClientUnaryCall;
    deactivateProfile(request: DeactivateProfileRequest, metadata: Metadata, callback: (error: ServiceError | null, response: DeactivateProfileResponse) => void): ClientUnaryCall;
    deactivateProfile(request: DeactivateProfileRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: DeactivateProfileResponse) => void): ClientUnaryCall;
    createPurpose(request: CreatePurposeRequest, callback: (error: ServiceError | null, response: CreatePurposeResponse) => void): ClientUnaryCall;
    createPurpose(request: CreatePurposeRequest, metadata: Metadata, callback: (error: ServiceError | null, response: CreatePurposeResponse) => void): ClientUnaryCall;
    createPurpose(request: CreatePurposeRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: CreatePurposeResponse) => void): ClientUnaryCall;
    getPurpose(request: GetPurposeRequest, callback: (error: ServiceError | null, response: GetPurposeResponse) => void): ClientUnaryCall;
    getPurpose(request: GetPurposeRequest, metadata: Metadata, callback: (error: ServiceError | null, response: GetPurposeResponse) => void): ClientUnaryCall;
    getPurpose(request: GetPurposeRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: GetPurposeResponse) => void): ClientUnaryCall;
    listPurposes(request: ListPurposesRequest, callback: (error: ServiceError | null, response: ListPurposesResponse) => void): ClientUnaryCall;
    listPurposes(request: ListPurposesRequest, metadata: Metadata, callback: (error: ServiceError | null, response: ListPurposesResponse) => void): ClientUnaryCall;
    listPurposes(request: ListPurposesRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: ListPurposesResponse) => void): ClientUnaryCall;
    updatePurpose(request: UpdatePurposeRequest, callback: (error: ServiceError | null, response: UpdatePurposeResponse) => void): ClientUnaryCall;
    updatePurpose(request: UpdatePurposeRequest, metadata: Metadata, callback: (error: ServiceError | null, response: UpdatePurposeResponse) => void): ClientUnaryCall;
    updatePurpose(request: UpdatePurposeRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: UpdatePurposeResponse) => void): ClientUnaryCall;
    deactivatePurpose(request: DeactivatePurposeRequest, callback: (error: ServiceError | null, response: DeactivatePurposeResponse) => void): ClientUnaryCall;
    deactivatePurpose(request: DeactivatePurposeRequest, metadata: Metadata, callback: (error: ServiceError | null, response: DeactivatePurposeResponse) => void): ClientUnaryCall;
    deactivatePurpose(request: DeactivatePurposeRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: DeactivatePurposeResponse) => void): ClientUnaryCall;
    createTopic(request: CreateTopicRequest, callback: (error: ServiceError | null, response: CreateTopicResponse) => void): ClientUnaryCall;
    createTopic(request: CreateTopicRequest, metadata: Metadata, callback: (error: ServiceError | null, response: CreateTopicResponse) => void): ClientUnaryCall;
    createTopic(request: CreateTopicRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: CreateTopicResponse) => void): ClientUnaryCall;
    getTopic(request: GetTopicRequest, callback: (error: ServiceError | null, response: GetTopicResponse) => void): ClientUnaryCall;
    getTopic(request: GetTopicRequest, metadata: Metadata, callback: (error: ServiceError | null, response: GetTopicResponse) => void): ClientUnaryCall;
    getTopic(request: GetTopicRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: GetTopicResponse) => void): ClientUnaryCall;
    listTopics(request: ListTopicsRequest, callback: (error: ServiceError | null, response: ListTopicsResponse) => void): ClientUnaryCall;
    listTopics(request: ListTopicsRequest, metadata: Metadata, callback: (error: ServiceError | null, response: ListTopicsResponse) => void): ClientUnaryCall;
    listTopics(request: ListTopicsRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: ListTopicsResponse) => void): ClientUnaryCall;
    updateTopic(request: UpdateTopicRequest, callback: (error: ServiceError | null, response: UpdateTopicResponse) => void): ClientUnaryCall;
    updateTopic(request: UpdateTopicRequest, metadata: Metadata, callback: (error: ServiceError | null, response: UpdateTopicResponse) => void): ClientUnaryCall;
    updateTopic(request: UpdateTopicRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: UpdateTopicResponse) => void): ClientUnaryCall;
    deactivateTopic(request: DeactivateTopicRequest, callback: (error: ServiceError | null, response: DeactivateTopicResponse) => void): ClientUnaryCall;
    deactivateTopic(request: DeactivateTopicRequest, metadata: Metadata, callback: (error: ServiceError | null, response: DeactivateTopicResponse) => void): ClientUnaryCall;
    deactivateTopic(request: DeactivateTopicRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: DeactivateTopicResponse) => void): ClientUnaryCall;
    /**
     * Policy simulation: how a proposed change of a profile's purposes, topics or settings
     * would change the decisions of every contact point the server holds for the profile,
     * without making it. Answers, per channel, purpose and topic, how many contact points
     * would go from which reason to which, with samples. Reads the hot index, not the disk
     * (but for the samples); one simulation runs at a time (RESOURCE_EXHAUSTED meanwhile).
     */
    simulateCatalogChange(request: SimulateCatalogChangeRequest, callback: (error: ServiceError | null, response: SimulateCatalogChangeResponse) => void): ClientUnaryCall;
    simulateCatalogChange(request: SimulateCatalogChangeRequest, metadata: Metadata, callback: (error: ServiceError | null, response: SimulateCatalogChangeResponse) => void): ClientUnaryCall;
    simulateCatalogChange(request: SimulateCatalogChangeRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: SimulateCatalogChangeResponse) => void): ClientUnaryCall;
    /** The secret is returned once, at creation; only its hash is stored. */
    createApiKey(request: CreateApiKeyRequest, callback: (error: ServiceError | null, response: CreateApiKeyResponse) => void): ClientUnaryCall;
    createApiKey(request: CreateApiKeyRequest, metadata: Metadata, callback: (error: ServiceError | null, response: CreateApiKeyResponse) => void): ClientUnaryCall;
    createApiKey(request: CreateApiKeyRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: CreateApiKeyResponse) => void): ClientUnaryCall;
    listApiKeys(request: ListApiKeysRequest, callback: (error: ServiceError | null, response: ListApiKeysResponse) => void): ClientUnaryCall;
    listApiKeys(request: ListApiKeysRequest, metadata: Metadata, callback: (error: ServiceError | null, response: ListApiKeysResponse) => void): ClientUnaryCall;
    listApiKeys(request: ListApiKeysRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: ListApiKeysResponse) => void): ClientUnaryCall;
    revokeApiKey(request: RevokeApiKeyRequest, callback: (error: ServiceError | null, response: RevokeApiKeyResponse) => void): ClientUnaryCall;
    revokeApiKey(request: RevokeApiKeyRequest, metadata: Metadata, callback: (error: ServiceError | null, response: RevokeApiKeyResponse) => void): ClientUnaryCall;
    revokeApiKey(request: RevokeApiKeyRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: RevokeApiKeyResponse) => void): ClientUnaryCall;
    /**
     * A digest of this node's replicated state (consent, history, configuration), to
     * compare the nodes of a cluster: equal revisions with equal digests are equal replicas.
     */
    getStateDigest(request: GetStateDigestRequest, callback: (error: ServiceError | null, response: GetStateDigestResponse) => void): ClientUnaryCall;
    getStateDigest(request: GetStateDigestRequest, metadata: Metadata, callback: (error: ServiceError | null, response: GetStateDigestResponse) => void): ClientUnaryCall;
    getStateDigest(request: GetStateDigestRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: GetStateDigestResponse) => void): ClientUnaryCall;
    /**
     * What this server is: its version, the revision it has applied, whether it is a cluster
     * node. Any valid API key may ask (and anyone while the server has no keys), so load
     * testers and monitors with a check-only key can label what they measured.
     */
    getServerInfo(request: GetServerInfoRequest, callback: (error: ServiceError | null, response: GetServerInfoResponse) => void): ClientUnaryCall;
    getServerInfo(request: GetServerInfoRequest, metadata: Metadata, callback: (error: ServiceError | null, response: GetServerInfoResponse) => void): ClientUnaryCall;
    getServerInfo(request: GetServerInfoRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: GetServerInfoResponse) => void): ClientUnaryCall;
    /**
     * Webhook subscriptions: every change of the subscribed kinds and profiles is POSTed to
     * the subscription's URL, in revision order, signed per the Standard Webhooks convention
     * (docs/webhooks.md). The signing secret is returned once, at creation or rotation.
     */
    createWebhook(request: CreateWebhookRequest, callback: (error: ServiceError | null, response: CreateWebhookResponse) => void): ClientUnaryCall;
    createWebhook(request: CreateWebhookRequest, metadata: Metadata, callback: (error: ServiceError | null, response: CreateWebhookResponse) => void): ClientUnaryCall;
    createWebhook(request: CreateWebhookRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: CreateWebhookResponse) => void): ClientUnaryCall;
    listWebhooks(request: ListWebhooksRequest, callback: (error: ServiceError | null, response: ListWebhooksResponse) => void): ClientUnaryCall;
    listWebhooks(request: ListWebhooksRequest, metadata: Metadata, callback: (error: ServiceError | null, response: ListWebhooksResponse) => void): ClientUnaryCall;
    listWebhooks(request: ListWebhooksRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: ListWebhooksResponse) => void): ClientUnaryCall;
    updateWebhook(request: UpdateWebhookRequest, callback: (error: ServiceError | null, response: UpdateWebhookResponse) => void): ClientUnaryCall;
    updateWebhook(request: UpdateWebhookRequest, metadata: Metadata, callback: (error: ServiceError | null, response: UpdateWebhookResponse) => void): ClientUnaryCall;
    updateWebhook(request: UpdateWebhookRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: UpdateWebhookResponse) => void): ClientUnaryCall;
    deleteWebhook(request: DeleteWebhookRequest, callback: (error: ServiceError | null, response: DeleteWebhookResponse) => void): ClientUnaryCall;
    deleteWebhook(request: DeleteWebhookRequest, metadata: Metadata, callback: (error: ServiceError | null, response: DeleteWebhookResponse) => void): ClientUnaryCall;
    deleteWebhook(request: DeleteWebhookRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: DeleteWebhookResponse) => void): ClientUnaryCall;
    /** Delivers again from a revision on (and resumes a paused subscription). */
    replayWebhook(request: ReplayWebhookRequest, callback: (error: ServiceError | null, response: ReplayWebhookResponse) => void): ClientUnaryCall;
    replayWebhook(request: ReplayWebhookRequest, metadata: Metadata, callback: (error: ServiceError | null, response: ReplayWebhookResponse) => void): ClientUnaryCall;
    replayWebhook(request: ReplayWebhookRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: ReplayWebhookResponse) => void): ClientUnaryCall;
    /** Sends one signed test event now and answers what the receiver said. */
    testWebhook(request: TestWebhookRequest, callback: (error: ServiceError | null, response: TestWebhookResponse) => void): ClientUnaryCall;
    testWebhook(request: TestWebhookRequest, metadata: Metadata, callback: (error: ServiceError | null, response: TestWebhookResponse) => void): ClientUnaryCall;
    testWebhook(request: TestWebhookRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: TestWebhookResponse) => void): ClientUnaryCall;
    /**
     * Adds a key that signs the edge's links, or decision receipts, from now on; links and
     * receipts signed with the older keys keep verifying. In a cluster the rotation goes
     * through the log and every node adds the same key, derived from the cluster secret (no
     * key travels). Needs an unrestricted admin key.
     */
    rotateSigningKey(request: RotateSigningKeyRequest, callback: (error: ServiceError | null, response: RotateSigningKeyResponse) => void): ClientUnaryCall;
    rotateSigningKey(request: RotateSigningKeyRequest, metadata: Metadata, callback: (error: ServiceError | null, response: RotateSigningKeyResponse) => void): ClientUnaryCall;
    rotateSigningKey(request: RotateSigningKeyRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (error: ServiceError | null, response: RotateSigningKeyResponse) => void): ClientUnaryCall;
}
export declare const AdminServiceClient: {
    new (address: string, credentials: ChannelCredentials, options?: Partial<ClientOptions>): AdminServiceClient;
    service: typeof AdminServiceService;
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

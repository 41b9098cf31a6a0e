"use strict";
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
var __createBinding = (this && this.__createBinding) || (Object.create ? (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    var desc = Object.getOwnPropertyDescriptor(m, k);
    if (!desc || ("get" in desc ? !m.__esModule : desc.writable || desc.configurable)) {
      desc = { enumerable: true, get: function() { return m[k]; } };
    }
    Object.defineProperty(o, k2, desc);
}) : (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    o[k2] = m[k];
}));
var __setModuleDefault = (this && this.__setModuleDefault) || (Object.create ? (function(o, v) {
    Object.defineProperty(o, "default", { enumerable: true, value: v });
}) : function(o, v) {
    o["default"] = v;
});
var __importStar = (this && this.__importStar) || (function () {
    var ownKeys = function(o) {
        ownKeys = Object.getOwnPropertyNames || function (o) {
            var ar = [];
            for (var k in o) if (Object.prototype.hasOwnProperty.call(o, k)) ar[ar.length] = k;
            return ar;
        };
        return ownKeys(o);
    };
    return function (mod) {
        if (mod && mod.__esModule) return mod;
        var result = {};
        if (mod != null) for (var k = ownKeys(mod), i = 0; i < k.length; i++) if (k[i] !== "default") __createBinding(result, mod, k[i]);
        __setModuleDefault(result, mod);
        return result;
    };
})();
Object.defineProperty(exports, "__esModule", { value: true });
exports.ConsentdError = exports.ConsentdClient = exports.HealthStatus = exports.DEFAULT_RETRY = exports.SET_BATCH_ITEMS_MAX = exports.SEND_MESSAGE_BYTES_MAX = exports.RECEIVE_MESSAGE_BYTES_MAX = void 0;
exports.enumOf = enumOf;
exports.parseAddress = parseAddress;
exports.encodeHealthRequest = encodeHealthRequest;
exports.decodeHealthResponse = decodeHealthResponse;
const node_crypto_1 = require("node:crypto");
const node_fs_1 = require("node:fs");
const grpc = __importStar(require("@grpc/grpc-js"));
const errors_1 = require("./errors");
Object.defineProperty(exports, "ConsentdError", { enumerable: true, get: function () { return errors_1.ConsentdError; } });
const admin_1 = require("./gen/consent/v1/admin");
const consent_1 = require("./gen/consent/v1/consent");
const decision_1 = require("./gen/consent/v1/decision");
const types_1 = require("./gen/consent/v1/types");
const stream_1 = require("./stream");
/** Largest answer accepted (a CheckStream batch with links can pass gRPC's default 4 MiB). */
exports.RECEIVE_MESSAGE_BYTES_MAX = 64 << 20;
/** The server's default --message-bytes-max. */
exports.SEND_MESSAGE_BYTES_MAX = 16 << 20;
/** The server's default --set-batch-items-max: BatchSetConsent calls are cut to this. */
exports.SET_BATCH_ITEMS_MAX = 1000;
exports.DEFAULT_RETRY = { maxAttempts: 6, initialBackoffMs: 100, maxBackoffMs: 2000, multiplier: 2 };
/** grpc.health.v1 serving status. */
var HealthStatus;
(function (HealthStatus) {
    HealthStatus[HealthStatus["UNKNOWN"] = 0] = "UNKNOWN";
    HealthStatus[HealthStatus["SERVING"] = 1] = "SERVING";
    HealthStatus[HealthStatus["NOT_SERVING"] = 2] = "NOT_SERVING";
    HealthStatus[HealthStatus["SERVICE_UNKNOWN"] = 3] = "SERVICE_UNKNOWN";
})(HealthStatus || (exports.HealthStatus = HealthStatus = {}));
/** An enum value from itself or its name (`"email"`, `"EMAIL"`). */
function enumOf(e, value, what) {
    if (typeof value === "number")
        return value;
    const v = e[String(value).toUpperCase()];
    if (typeof v !== "number" || v < 0) {
        const names = Object.keys(e).filter((k) => typeof e[k] === "number" && e[k] >= 0);
        throw new RangeError(`\`${value}\` is not a ${what}: one of ${names.join(", ")}`);
    }
    return v;
}
function pem(source) {
    if (source === undefined)
        return null;
    if (Buffer.isBuffer(source))
        return source;
    if (source.includes("-----BEGIN"))
        return Buffer.from(source);
    return (0, node_fs_1.readFileSync)(source);
}
/** `host:port` and whether TLS is used, from `http://`, `https://` or `host:port`. */
function parseAddress(addr) {
    if (!addr.includes("://"))
        return { target: addr, tls: false };
    const url = new URL(addr);
    if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw new RangeError(`address \`${addr}\`: the scheme must be http or https`);
    }
    if (!url.hostname || !url.port) {
        throw new RangeError(`address \`${addr}\` needs a host and a port, e.g. http://127.0.0.1:50051`);
    }
    return { target: `${url.hostname}:${url.port}`, tls: url.protocol === "https:" };
}
function recordOf(r) {
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
function changeResultOf(r, idempotencyKey) {
    return {
        outcome: r.outcome,
        applied: r.outcome === consent_1.ChangeOutcome.APPLIED || r.outcome === consent_1.ChangeOutcome.PENDING_CONFIRMATION,
        revision: r.revision,
        replayed: r.replayed,
        idempotencyKey,
        record: r.record ? recordOf(r.record) : undefined,
        confirmationToken: r.confirmationToken,
        confirmationExpiresAt: r.confirmationExpiresAt,
        raw: r,
    };
}
function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
}
/** grpc.health.v1.HealthCheckRequest { string service = 1; }, encoded by hand. */
function encodeHealthRequest(service) {
    const data = Buffer.from(service);
    if (data.length === 0)
        return Buffer.alloc(0);
    const length = [];
    let n = data.length;
    do {
        const byte = n & 0x7f;
        n >>>= 7;
        length.push(byte | (n ? 0x80 : 0));
    } while (n);
    return Buffer.concat([Buffer.from([0x0a, ...length]), data]);
}
/** HealthCheckResponse { ServingStatus status = 1; }: one varint field, or nothing. */
function decodeHealthResponse(data) {
    return data.length >= 2 && data[0] === 0x08 ? data[1] : HealthStatus.UNKNOWN;
}
/** A consentd client. Share one per process (it holds one connection). */
class ConsentdClient {
    /** The generated clients, for calls the helpers do not cover (pass `metadata()`). */
    decision;
    consent;
    admin;
    retry;
    timeoutMs;
    channel;
    auth;
    revision = 0;
    constructor(addr, options = {}) {
        const { target, tls } = parseAddress(addr);
        if ((options.cert === undefined) !== (options.key === undefined)) {
            throw new RangeError("a client certificate needs both cert and key");
        }
        if (!tls && (options.ca !== undefined || options.cert !== undefined)) {
            throw new RangeError(`ca, cert and key need an https:// address, not \`${addr}\``);
        }
        const channelOptions = {
            "grpc.max_receive_message_length": exports.RECEIVE_MESSAGE_BYTES_MAX,
            "grpc.max_send_message_length": exports.SEND_MESSAGE_BYTES_MAX,
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
        const clientOptions = {
            channelOverride: this.channel,
            interceptors: options.interceptors,
        };
        this.decision = new decision_1.DecisionServiceClient(target, credentials, clientOptions);
        this.consent = new consent_1.ConsentServiceClient(target, credentials, clientOptions);
        this.admin = new admin_1.AdminServiceClient(target, credentials, clientOptions);
        this.retry = { ...exports.DEFAULT_RETRY, ...options.retry };
        if (this.retry.maxAttempts < 1)
            throw new RangeError("retry.maxAttempts must be at least 1");
        this.timeoutMs = options.timeoutMs;
        this.auth = new grpc.Metadata();
        if (options.apiKey)
            this.auth.set("authorization", `Bearer ${options.apiKey}`);
    }
    /** The call metadata (the API key), for the generated clients. */
    metadata() {
        return this.auth.clone();
    }
    close() {
        this.decision.close();
        this.consent.close();
        this.admin.close();
        this.channel.close();
    }
    // ---- read your writes ----------------------------------------------------------------
    /** The highest revision a write answered on this client; checks read at least it. */
    get minRevision() {
        return this.revision;
    }
    /** Raises `minRevision` to `revision` (e.g. one another process wrote). */
    observeRevision(revision) {
        if (revision > this.revision)
            this.revision = revision;
    }
    /** Forgets the revisions seen (e.g. when pointed at another, fresh server). */
    resetMinRevision() {
        this.revision = 0;
    }
    // ---- calls ---------------------------------------------------------------------------
    callOptions(timeoutMs) {
        const ms = timeoutMs ?? this.timeoutMs;
        return ms === undefined ? {} : { deadline: Date.now() + ms };
    }
    once(client, rpc, request, timeoutMs) {
        return new Promise((resolve, reject) => {
            rpc.call(client, request, this.metadata(), this.callOptions(timeoutMs), (error, response) => error ? reject(error) : resolve(response));
        });
    }
    /** One unary call; sent again with the same request on UNAVAILABLE when `retry`. */
    async unary(client, rpc, request, retry, timeoutMs) {
        const policy = this.retry;
        let backoff = policy.initialBackoffMs;
        for (let attempt = 1;; attempt++) {
            try {
                return await this.once(client, rpc, request, timeoutMs);
            }
            catch (e) {
                const code = e.code;
                if (retry && code === grpc.status.UNAVAILABLE && attempt < policy.maxAttempts) {
                    await sleep(backoff / 2 + (Math.random() * backoff) / 2);
                    backoff = Math.min(backoff * policy.multiplier, policy.maxBackoffMs);
                    continue;
                }
                throw (0, errors_1.fromServiceError)(e);
            }
        }
    }
    // ---- decisions -----------------------------------------------------------------------
    /** One recipient's decision (an SMS gateway's call). */
    async check(args) {
        const r = await this.unary(this.decision, this.decision.check, {
            profileId: args.profile,
            channel: enumOf(types_1.Channel, args.channel, "Channel"),
            contactPoint: args.contactPoint,
            purposeId: args.purpose,
            topicId: args.topic ?? "",
            minRevision: args.minRevision ?? this.revision,
        }, true, args.timeoutMs);
        return {
            decision: r.decision,
            reason: r.reason,
            send: r.decision === decision_1.Decision.SEND,
            suppressionKind: r.reason === decision_1.Reason.SUPPRESSED ? r.suppressionKind : undefined,
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
    checkStream(recipients, args) {
        const channel = enumOf(types_1.Channel, args.channel, "Channel");
        const minRevision = args.minRevision ?? this.revision;
        return new stream_1.CheckStream(() => this.decision.checkStream(this.metadata(), this.callOptions(args.timeoutMs)), recipients, {
            profileId: args.profile,
            channel,
            purposeId: args.purpose,
            topicId: args.topic ?? "",
            minRevision,
            includeLinks: args.includeLinks ?? false,
            batchSize: args.batchSize ?? 4096,
            maxInFlight: args.maxInFlight ?? 4,
        });
    }
    /** The recipient's one-click unsubscribe and preference-center links. */
    async mintLinks(args) {
        const r = await this.unary(this.decision, this.decision.mintLinks, {
            profileId: args.profile,
            channel: enumOf(types_1.Channel, args.channel, "Channel"),
            contactPoint: args.contactPoint,
            purposeId: args.purpose,
            topicId: args.topic ?? "",
        }, true, args.timeoutMs);
        return {
            unsubscribeUrl: r.unsubscribeUrl,
            listUnsubscribe: r.listUnsubscribe,
            listUnsubscribePost: r.listUnsubscribePost,
            preferencesUrl: r.preferencesUrl,
        };
    }
    // ---- consent writes ------------------------------------------------------------------
    static request(change, idempotencyKey) {
        return consent_1.SetConsentRequest.fromPartial({
            change: {
                profileId: change.profile,
                channel: enumOf(types_1.Channel, change.channel, "Channel"),
                contactPoint: change.contactPoint,
                purposeId: change.purpose,
                topicId: change.topic ?? "",
                status: enumOf(types_1.ConsentStatus, change.status, "ConsentStatus"),
                occurredAt: change.occurredAt,
                source: enumOf(types_1.ChangeSource, change.source ?? types_1.ChangeSource.API, "ChangeSource"),
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
    async setConsent(change) {
        const key = change.idempotencyKey || (0, node_crypto_1.randomUUID)();
        const request = ConsentdClient.request(change, key);
        const r = await this.unary(this.consent, this.consent.setConsent, request, true, change.timeoutMs);
        if (!r.result)
            throw new errors_1.StreamProtocolError("SetConsent answered no result");
        this.observeRevision(r.result.revision);
        return changeResultOf(r.result, key);
    }
    /**
     * Records many changes, `chunkSize` per call. Not atomic: one result per change, in
     * order, a ChangeResult or an ItemError (`error: true`). Every change without an
     * idempotency key gets one (written into the change); a chunk that fails UNAVAILABLE is
     * sent again with the same keys.
     */
    async batchSetConsent(changes, options = {}) {
        const chunkSize = options.chunkSize ?? exports.SET_BATCH_ITEMS_MAX;
        if (!(chunkSize >= 1))
            throw new RangeError("chunkSize must be at least 1");
        const results = [];
        let chunk = [];
        const flush = async () => {
            const requests = chunk.map((c) => {
                if (!c.idempotencyKey)
                    c.idempotencyKey = (0, node_crypto_1.randomUUID)();
                return ConsentdClient.request(c, c.idempotencyKey);
            });
            const answer = await this.unary(this.consent, this.consent.batchSetConsent, { requests }, true, options.timeoutMs);
            if (answer.results.length !== chunk.length) {
                throw new errors_1.StreamProtocolError(`BatchSetConsent answered ${answer.results.length} results for ${chunk.length} changes`);
            }
            answer.results.forEach((item, i) => {
                const key = chunk[i].idempotencyKey;
                if (item.change) {
                    this.observeRevision(item.change.revision);
                    results.push(changeResultOf(item.change, key));
                }
                else {
                    const e = item.error ?? { code: 2, field: "", message: "no result" };
                    results.push({ applied: false, error: true, code: e.code, field: e.field, message: e.message, idempotencyKey: key });
                }
            });
            chunk = [];
        };
        for (const change of changes) {
            chunk.push(change);
            if (chunk.length >= chunkSize)
                await flush();
        }
        if (chunk.length)
            await flush();
        return results;
    }
    /**
     * Confirms a pending double opt-in with the confirming click's own evidence. Not retried:
     * a token confirms once; on Unavailable read the state with getConsent.
     */
    async confirmOptIn(token, options = {}) {
        const r = await this.unary(this.consent, this.consent.confirmOptIn, { token, ipAddress: options.ipAddress ?? "", userAgent: options.userAgent ?? "", occurredAt: options.occurredAt }, false, options.timeoutMs);
        if (!r.result)
            throw new errors_1.StreamProtocolError("ConfirmOptIn answered no result");
        this.observeRevision(r.result.revision);
        return changeResultOf(r.result, "");
    }
    async suppression(lift, args) {
        const request = {
            profileId: args.profile,
            channel: enumOf(types_1.Channel, args.channel, "Channel"),
            contactPoint: args.contactPoint,
            kind: enumOf(types_1.SuppressionKind, args.kind, "SuppressionKind"),
            reason: args.reason ?? "",
            occurredAt: args.occurredAt,
            source: enumOf(types_1.ChangeSource, args.source ?? types_1.ChangeSource.API, "ChangeSource"),
        };
        // No idempotency key in these requests: a kind is active or not, so the same add (or
        // lift) sent again changes nothing (`changed` is false).
        const r = lift
            ? await this.unary(this.consent, this.consent.liftSuppression, request, true, args.timeoutMs)
            : await this.unary(this.consent, this.consent.addSuppression, request, true, args.timeoutMs);
        this.observeRevision(r.revision);
        return { changed: r.changed, revision: r.revision };
    }
    /** Blocks the contact point on the channel for every purpose. Retried on UNAVAILABLE. */
    addSuppression(args) {
        return this.suppression(false, args);
    }
    /** Lifts one suppression kind; other kinds stay. Retried on UNAVAILABLE. */
    liftSuppression(args) {
        return this.suppression(true, args);
    }
    // ---- consent reads -------------------------------------------------------------------
    /** The current records and active suppressions of a contact point on a channel. */
    async getConsent(args) {
        const r = await this.unary(this.consent, this.consent.getConsent, { profileId: args.profile, channel: enumOf(types_1.Channel, args.channel, "Channel"), contactPoint: args.contactPoint }, true, args.timeoutMs);
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
    async getHistory(args) {
        const events = [];
        let pageToken = "";
        for (;;) {
            const r = await this.unary(this.consent, this.consent.getHistory, {
                profileId: args.profile,
                channel: enumOf(types_1.Channel, args.channel, "Channel"),
                contactPoint: args.contactPoint,
                pageSize: args.pageSize ?? 1000,
                pageToken,
            }, true, args.timeoutMs);
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
    async createProfile(profileId, options = {}) {
        const r = await this.unary(this.admin, this.admin.createProfile, {
            profile: admin_1.Profile.fromPartial({
                profileId,
                displayName: options.displayName ?? "",
                defaultRegion: options.defaultRegion ?? "",
                doubleOptIn: (options.doubleOptIn ?? []).map((d) => ({
                    channel: enumOf(types_1.Channel, d.channel, "Channel"),
                    mode: enumOf(admin_1.DoubleOptInMode, d.mode, "DoubleOptInMode"),
                })),
                extraStopKeywords: options.extraStopKeywords ?? [],
                extraStartKeywords: options.extraStartKeywords ?? [],
            }),
        }, false, options.timeoutMs);
        return r.profile;
    }
    /** Creates a purpose of a profile. Needs the admin scope. */
    async createPurpose(profile, purposeId, kind = types_1.PurposeKind.COMMERCIAL, options = {}) {
        const r = await this.unary(this.admin, this.admin.createPurpose, {
            purpose: admin_1.Purpose.fromPartial({
                profileId: profile,
                purposeId,
                kind: enumOf(types_1.PurposeKind, kind, "PurposeKind"),
                displayName: options.displayName ?? "",
            }),
        }, false, options.timeoutMs);
        return r.purpose;
    }
    /** Creates a topic of a purpose. Needs the admin scope. */
    async createTopic(profile, purpose, topicId, options = {}) {
        const r = await this.unary(this.admin, this.admin.createTopic, {
            topic: admin_1.Topic.fromPartial({
                profileId: profile,
                purposeId: purpose,
                topicId,
                displayName: options.displayName ?? "",
            }),
        }, false, options.timeoutMs);
        return r.topic;
    }
    /** Creates an API key; the secret is shown only now. */
    async createApiKey(scopes, options = {}) {
        const r = await this.unary(this.admin, this.admin.createApiKey, {
            description: options.description ?? "",
            scopes: scopes.map((s) => enumOf(admin_1.ApiKeyScope, s, "ApiKeyScope")),
            profileIds: options.profiles ?? [],
            expireTime: options.expireTime,
        }, false, options.timeoutMs);
        return { secret: r.secret, key: r.apiKey };
    }
    /** Revokes a key; its open streams end. Needs the admin scope. */
    async revokeApiKey(keyId, options = {}) {
        const r = await this.unary(this.admin, this.admin.revokeApiKey, { keyId }, true, options.timeoutMs);
        return r.apiKey;
    }
    /** The server's version, applied revision and mode (any valid key may ask). */
    serverInfo(options = {}) {
        return this.unary(this.admin, this.admin.getServerInfo, {}, true, options.timeoutMs);
    }
    /** The grpc.health.v1 status of `service` ("": the whole server). Needs no API key. */
    health(service = "", options = {}) {
        return new Promise((resolve, reject) => {
            this.decision.makeUnaryRequest("/grpc.health.v1.Health/Check", (b) => b, (b) => b, encodeHealthRequest(service), new grpc.Metadata(), { deadline: Date.now() + (options.timeoutMs ?? 5000) }, (error, response) => (error ? reject((0, errors_1.fromServiceError)(error)) : resolve(decodeHealthResponse(response))));
        });
    }
}
exports.ConsentdClient = ConsentdClient;

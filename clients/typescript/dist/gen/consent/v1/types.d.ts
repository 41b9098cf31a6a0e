import { BinaryReader, BinaryWriter } from "@bufbuild/protobuf/wire";
export declare const protobufPackage = "consent.v1";
export declare const protobufFileName = "consent/v1/types.proto";
/**
 * The channel a message is delivered on. The contact point's form follows from it:
 * an email address for email, an E.164 number for sms, whatsapp and voice, an opaque
 * token for push and custom.
 */
export declare enum Channel {
    UNSPECIFIED = 0,
    EMAIL = 1,
    SMS = 2,
    WHATSAPP = 3,
    PUSH = 4,
    VOICE = 5,
    CUSTOM = 6,
    UNRECOGNIZED = -1
}
export declare function channelFromJSON(object: any): Channel;
export declare function channelToJSON(object: Channel): string;
/** How a purpose is enforced on one channel. */
export declare enum EnforcementModel {
    UNSPECIFIED = 0,
    /** RESTRICTIVE - Sends only with an explicit, current opt-in. */
    RESTRICTIVE = 1,
    /** NON_RESTRICTIVE - Sends unless the contact point opted out or is suppressed. */
    NON_RESTRICTIVE = 2,
    /** DISABLED - Always sends; consent records and suppressions are not read. */
    DISABLED = 3,
    UNRECOGNIZED = -1
}
export declare function enforcementModelFromJSON(object: any): EnforcementModel;
export declare function enforcementModelToJSON(object: EnforcementModel): string;
export declare enum PurposeKind {
    UNSPECIFIED = 0,
    /** COMMERCIAL - Default enforcement: restrictive on every channel. */
    COMMERCIAL = 1,
    /** TRANSACTIONAL - Default enforcement: non-restrictive on every channel. */
    TRANSACTIONAL = 2,
    /** CUSTOM - Default enforcement: restrictive on every channel. */
    CUSTOM = 3,
    UNRECOGNIZED = -1
}
export declare function purposeKindFromJSON(object: any): PurposeKind;
export declare function purposeKindToJSON(object: PurposeKind): string;
export declare enum ConsentStatus {
    UNSPECIFIED = 0,
    OPTED_IN = 1,
    OPTED_OUT = 2,
    /** PENDING - Double opt-in requested, not yet confirmed. Never counts as consent. */
    PENDING = 3,
    /** NOT_SET - No record (or a pending record past its confirmation validity). */
    NOT_SET = 4,
    UNRECOGNIZED = -1
}
export declare function consentStatusFromJSON(object: any): ConsentStatus;
export declare function consentStatusToJSON(object: ConsentStatus): string;
export declare enum SuppressionKind {
    UNSPECIFIED = 0,
    HARD_BOUNCE = 1,
    SPAM_COMPLAINT = 2,
    SMS_STOP = 3,
    MANUAL = 4,
    /**
     * ERASED - The contact point was erased at its owner's request: the tombstone that blocks every
     * channel of it until a new opt-in with proof (EraseContactPoint). Cannot be added or
     * lifted by AddSuppression or LiftSuppression.
     */
    ERASED = 5,
    /** MOVED - The person moved to another contact point (MoveContactPoint). */
    MOVED = 6,
    UNRECOGNIZED = -1
}
export declare function suppressionKindFromJSON(object: any): SuppressionKind;
export declare function suppressionKindToJSON(object: SuppressionKind): string;
/** Where a change came from, as recorded in the history. */
export declare enum ChangeSource {
    UNSPECIFIED = 0,
    PREFERENCE_CENTER = 1,
    FORM = 2,
    IMPORT = 3,
    SMS_KEYWORD = 4,
    ONE_CLICK_UNSUBSCRIBE = 5,
    ADMIN = 6,
    API = 7,
    CRM_SYNC = 8,
    DOUBLE_OPT_IN_CONFIRMATION = 9,
    UNRECOGNIZED = -1
}
export declare function changeSourceFromJSON(object: any): ChangeSource;
export declare function changeSourceToJSON(object: ChangeSource): string;
/** Evidence kept with a change: what the person saw and where they acted from. */
export interface Proof {
    ipAddress: string;
    userAgent: string;
    noticeId: string;
    noticeVersion: string;
    /** Hash of the notice text shown, e.g. "sha256:<hex>". */
    noticeHash: string;
    /** The notice text itself, when the caller prefers to store it. */
    noticeText: string;
}
/** The current consent state of one (purpose, topic) for one contact point. */
export interface ConsentRecord {
    purposeId: string;
    /** Empty for the purpose-level record. */
    topicId: string;
    status: ConsentStatus;
    occurredAt: Date | undefined;
    /** Set for an opt-in that lapses, and for a pending record (its confirmation deadline). */
    expiresAt: Date | undefined;
    source: ChangeSource;
    /** The revision of the change that set this record. */
    revision: number;
}
/** An active channel-wide block on one contact point. */
export interface Suppression {
    kind: SuppressionKind;
    occurredAt: Date | undefined;
    reason: string;
    revision: number;
}
export declare const Proof: MessageFns<Proof>;
export declare const ConsentRecord: MessageFns<ConsentRecord>;
export declare const Suppression: MessageFns<Suppression>;
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

/**
 * CheckStream: recipients in, decisions out, in order, with a bound on what is in flight.
 *
 * How the bound works: `maxInFlight` slots. The writer takes a slot *before* it reads the
 * next batch from the caller's iterable, and the slot is given back only when the caller
 * asks for what follows the last decision of a batch. So the input is never read more than
 * `maxInFlight` batches ahead of what the caller consumed, and at most that many batches
 * (and their answers) are held in memory. Writes wait for the stream's `drain` (HTTP/2 flow
 * control), and the server stops reading a stream whose answers are not read, so a slow
 * consumer slows the pipeline down instead of buffering it.
 */
import type { ClientDuplexStream } from "@grpc/grpc-js";
import { type CheckStreamRequest, type CheckStreamResponse, type Clock, Decision, type Reason } from "./gen/consent/v1/decision";
import type { Channel, SuppressionKind } from "./gen/consent/v1/types";
/** A recipient that overrides the stream's channel or topic (plain strings do not). */
export interface Recipient {
    contactPoint: string;
    channel?: Channel;
    topic?: string;
}
/** One recipient's decision, in input order. */
export interface CheckDecision {
    contactPoint: string;
    decision: Decision;
    reason: Reason;
    /** True when the decision is SEND. */
    send: boolean;
    /** Set when `reason` is SUPPRESSED. */
    suppressionKind: SuppressionKind | undefined;
    /** With `includeLinks`: the one-click unsubscribe URL (SEND only). */
    unsubscribeUrl: string | undefined;
    /** With `includeLinks`: the preference-center URL (SEND only). */
    preferencesUrl: string | undefined;
}
export type Recipients = Iterable<string | Recipient> | AsyncIterable<string | Recipient>;
export interface StreamSettings {
    profileId: string;
    channel: Channel;
    purposeId: string;
    topicId: string;
    minRevision: number;
    includeLinks: boolean;
    asOf: Date | undefined;
    asOfClock: Clock;
    batchSize: number;
    maxInFlight: number;
}
/**
 * An async iterable of {@link CheckDecision}, one per recipient, in input order; or, with
 * {@link CheckStream.batches}, of arrays of them, one per batch (less overhead per item).
 * The call starts when iteration starts; it can be iterated once. Breaking out of the loop
 * (or {@link CheckStream.close}) cancels the call and stops reading the input.
 */
export declare class CheckStream implements AsyncIterable<CheckDecision> {
    private readonly open;
    private recipients;
    private readonly settings;
    /** Batches read from the input whose decisions the caller has not all taken. */
    inFlight: number;
    maxInFlightSeen: number;
    batchesSent: number;
    /** Recipients taken from the input so far. */
    recipientsRead: number;
    /** The highest revision the answers so far were decided at. */
    revision: number;
    private started;
    private closed;
    private call;
    private wake;
    constructor(open: () => ClientDuplexStream<CheckStreamRequest, CheckStreamResponse>, recipients: Recipients | undefined, settings: StreamSettings);
    [Symbol.asyncIterator](): AsyncIterator<CheckDecision>;
    /** The decisions a batch at a time (one array per batch of `batchSize`). */
    batches(): AsyncGenerator<CheckDecision[]>;
    /** Stops the stream: cancels the call and stops reading the recipients. */
    close(): void;
}

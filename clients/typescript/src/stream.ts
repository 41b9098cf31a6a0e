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

import { fromServiceError, StreamProtocolError } from "./errors";
import {
  type CheckStreamRequest,
  type CheckStreamResponse,
  type Clock,
  Decision,
  type ItemOverride,
  type Reason,
} from "./gen/consent/v1/decision";
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
export class CheckStream implements AsyncIterable<CheckDecision> {
  /** Batches read from the input whose decisions the caller has not all taken. */
  inFlight = 0;
  maxInFlightSeen = 0;
  batchesSent = 0;
  /** Recipients taken from the input so far. */
  recipientsRead = 0;
  /** The highest revision the answers so far were decided at. */
  revision = 0;

  private started = false;
  private closed = false;
  private call: ClientDuplexStream<CheckStreamRequest, CheckStreamResponse> | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly open: () => ClientDuplexStream<CheckStreamRequest, CheckStreamResponse>,
    private recipients: Recipients | undefined,
    private readonly settings: StreamSettings,
  ) {
    if (!(settings.batchSize >= 1)) throw new RangeError("batchSize must be at least 1");
    if (!(settings.maxInFlight >= 1)) throw new RangeError("maxInFlight must be at least 1");
  }

  [Symbol.asyncIterator](): AsyncIterator<CheckDecision> {
    // A hand-written iterator rather than an async generator: a decision already received
    // costs one resolved promise, not a generator resumption. The next batch is asked for
    // (and the last one's slot freed) only once every decision of the last one was taken.
    const batches = this.batches();
    let batch: CheckDecision[] = [];
    let i = 0;
    const iterator: AsyncIterator<CheckDecision> = {
      next(): Promise<IteratorResult<CheckDecision>> {
        if (i < batch.length) return Promise.resolve({ value: batch[i++], done: false });
        return batches.next().then((r) => {
          if (r.done) return { value: undefined, done: true };
          batch = r.value;
          i = 0;
          return iterator.next();
        });
      },
      return(): Promise<IteratorResult<CheckDecision>> {
        batch = [];
        return batches.return(undefined).then(() => ({ value: undefined, done: true }));
      },
    };
    return iterator;
  }

  /** The decisions a batch at a time (one array per batch of `batchSize`). */
  async *batches(): AsyncGenerator<CheckDecision[]> {
    if (this.started) throw new Error("a CheckStream can be iterated once");
    this.started = true;
    if (this.closed) return;
    const call = this.open();
    this.call = call;
    // Errors reach the caller through the read loop below; this listener only keeps an
    // error that comes while nothing else listens (a write after the call ended) from
    // becoming an uncaught exception.
    call.on("error", () => {});
    const pending: { batchId: number; contacts: string[] }[] = [];
    let slots = this.settings.maxInFlight;
    let inputError: unknown;
    let inputFailed = false;

    const acquire = async (): Promise<boolean> => {
      while (slots === 0 && !this.closed) {
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
      if (this.closed) return false;
      slots--;
      return true;
    };
    const release = () => {
      slots++;
      const wake = this.wake;
      this.wake = undefined;
      wake?.();
    };

    const writer = async () => {
      const recipients = this.recipients!;
      this.recipients = undefined;
      const { batchSize } = this.settings;
      const asyncSource = Symbol.asyncIterator in recipients;
      const iterator = asyncSource
        ? (recipients as AsyncIterable<string | Recipient>)[Symbol.asyncIterator]()
        : (recipients as Iterable<string | Recipient>)[Symbol.iterator]();
      let batchId = 0;
      let exhausted = false;
      try {
        while (!exhausted && (await acquire())) {
          const contacts: string[] = [];
          const overrides: ItemOverride[] = [];
          while (contacts.length < batchSize) {
            const next = asyncSource
              ? await (iterator as AsyncIterator<string | Recipient>).next()
              : (iterator as Iterator<string | Recipient>).next();
            if (next.done) {
              exhausted = true;
              break;
            }
            const r = next.value;
            if (typeof r === "string") {
              contacts.push(r);
            } else if (r && typeof r.contactPoint === "string") {
              if (r.channel !== undefined || r.topic) {
                overrides.push({ index: contacts.length, channel: r.channel ?? 0, topicId: r.topic ?? "" });
              }
              contacts.push(r.contactPoint);
            } else {
              throw new TypeError(`a recipient must be a string or a Recipient, not ${typeof r}`);
            }
          }
          if (this.closed || call.destroyed) return;
          if (contacts.length === 0) {
            release();
            break;
          }
          batchId += 1;
          pending.push({ batchId, contacts });
          this.inFlight += 1;
          if (this.inFlight > this.maxInFlightSeen) this.maxInFlightSeen = this.inFlight;
          this.batchesSent += 1;
          this.recipientsRead += contacts.length;
          const s = this.settings;
          // Packed: one buffer of lines, not a string per recipient on the wire; a batch
          // with a line feed in a contact point goes listed.
          const joined = contacts.join("\n");
          const packed = !contacts.some((c) => c.includes("\n"));
          const request: CheckStreamRequest = {
            batchId,
            profileId: s.profileId,
            channel: s.channel,
            purposeId: s.purposeId,
            topicId: s.topicId,
            contactPoints: packed ? [] : contacts,
            contactPointsPacked: packed ? Buffer.from(joined + "\n", "utf8") : Buffer.alloc(0),
            packedAnswers: true,
            overrides,
            minRevision: s.minRevision,
            includeLinks: s.includeLinks,
            asOf: s.asOf,
            asOfClock: s.asOfClock,
            receipts: false,
          };
          if (!call.write(request)) await drained(call);
        }
        if (!this.closed) call.end();
      } catch (e) {
        // Like the end of the input: the batches sent are still answered, then the caller
        // gets this error.
        inputError = e;
        inputFailed = true;
        exhausted = true;
        if (!this.closed) call.end();
      } finally {
        // Stopped early: let the input's generator run its cleanup (close its file).
        if (!exhausted) {
          try {
            await iterator.return?.();
          } catch {
            // Its cleanup failing is not the stream's error.
          }
        }
      }
    };
    const writing = writer();

    let finished = false;
    try {
      for await (const answer of call as AsyncIterable<CheckStreamResponse>) {
        const batch = pending.shift();
        if (!batch) throw new StreamProtocolError("the server answered a batch that was not sent");
        const { batchId, contacts } = batch;
        if (answer.batchId !== batchId) {
          throw new StreamProtocolError(`expected the answer to batch ${batchId}, got batch ${answer.batchId}`);
        }
        const n = contacts.length;
        const { outcomes } = answer;
        if (outcomes.length !== n) {
          throw new StreamProtocolError(`batch ${batchId} had ${n} recipients, the answer ${outcomes.length} decisions`);
        }
        if (answer.revision > this.revision) this.revision = answer.revision;
        const out: CheckDecision[] = new Array(n);
        for (let i = 0; i < n; i++) {
          // One byte per recipient: decision * 64 + reason.
          const decision = (outcomes[i] >> 6) as Decision;
          out[i] = {
            contactPoint: contacts[i],
            decision,
            reason: (outcomes[i] & 63) as Reason,
            send: decision === Decision.SEND,
            suppressionKind: undefined,
            unsubscribeUrl: undefined,
            preferencesUrl: undefined,
          };
        }
        for (const s of answer.suppressed) out[s.index].suppressionKind = s.kind;
        for (const l of answer.links) {
          out[l.index].unsubscribeUrl = l.unsubscribeUrl;
          out[l.index].preferencesUrl = l.preferencesUrl;
        }
        yield out;
        // The caller came back for more: every decision of this batch is taken.
        this.inFlight -= 1;
        release();
      }
      finished = true;
    } catch (e) {
      throw fromServiceError(e);
    } finally {
      if (!finished) {
        this.closed = true;
        release();
        call.cancel();
      }
    }
    await writing;
    if (inputFailed) throw inputError;
  }

  /** Stops the stream: cancels the call and stops reading the recipients. */
  close(): void {
    this.closed = true;
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
    this.call?.cancel();
  }
}

function drained(call: ClientDuplexStream<CheckStreamRequest, CheckStreamResponse>): Promise<void> {
  return new Promise((resolve) => {
    if (call.destroyed || call.writableEnded) {
      resolve();
      return;
    }
    const done = () => {
      call.off("drain", done);
      call.off("close", done);
      call.off("error", done);
      resolve();
    };
    call.on("drain", done);
    call.on("close", done);
    call.on("error", done);
  });
}

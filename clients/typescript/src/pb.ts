/** The generated messages and gRPC clients of consent.v1 (ts-proto), for what the typed layer does not wrap. */
export * as admin from "./gen/consent/v1/admin";
export * as consent from "./gen/consent/v1/consent";
export * as decision from "./gen/consent/v1/decision";
export * as types from "./gen/consent/v1/types";

"use strict";
/**
 * @consentd/client: a Node.js client for consentd, the consent decision service.
 *
 * ```ts
 * import { ConsentdClient, Channel, ConsentStatus } from "@consentd/client";
 * const client = new ConsentdClient("http://127.0.0.1:50051", { apiKey: process.env.CONSENTD_API_KEY });
 * await client.setConsent({ profile: "acme", channel: Channel.EMAIL, contactPoint: "jane@example.com",
 *   purpose: "newsletter", status: ConsentStatus.OPTED_IN });
 * for await (const d of client.checkStream(recipients, { profile: "acme", channel: "email", purpose: "newsletter" })) { ... }
 * ```
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
var __exportStar = (this && this.__exportStar) || function(m, exports) {
    for (var p in m) if (p !== "default" && !Object.prototype.hasOwnProperty.call(exports, p)) __createBinding(exports, m, p);
};
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
exports.pb = exports.SuppressionKind = exports.PurposeKind = exports.EnforcementModel = exports.ConsentStatus = exports.Channel = exports.ChangeSource = exports.Reason = exports.Decision = exports.KeywordClass = exports.EventKind = exports.ChangeOutcome = exports.DoubleOptInMode = exports.ApiKeyScope = exports.CheckStream = exports.Client = void 0;
__exportStar(require("./client"), exports);
var client_1 = require("./client");
Object.defineProperty(exports, "Client", { enumerable: true, get: function () { return client_1.ConsentdClient; } });
__exportStar(require("./errors"), exports);
var stream_1 = require("./stream");
Object.defineProperty(exports, "CheckStream", { enumerable: true, get: function () { return stream_1.CheckStream; } });
var admin_1 = require("./gen/consent/v1/admin");
Object.defineProperty(exports, "ApiKeyScope", { enumerable: true, get: function () { return admin_1.ApiKeyScope; } });
Object.defineProperty(exports, "DoubleOptInMode", { enumerable: true, get: function () { return admin_1.DoubleOptInMode; } });
var consent_1 = require("./gen/consent/v1/consent");
Object.defineProperty(exports, "ChangeOutcome", { enumerable: true, get: function () { return consent_1.ChangeOutcome; } });
Object.defineProperty(exports, "EventKind", { enumerable: true, get: function () { return consent_1.EventKind; } });
Object.defineProperty(exports, "KeywordClass", { enumerable: true, get: function () { return consent_1.KeywordClass; } });
var decision_1 = require("./gen/consent/v1/decision");
Object.defineProperty(exports, "Decision", { enumerable: true, get: function () { return decision_1.Decision; } });
Object.defineProperty(exports, "Reason", { enumerable: true, get: function () { return decision_1.Reason; } });
var types_1 = require("./gen/consent/v1/types");
Object.defineProperty(exports, "ChangeSource", { enumerable: true, get: function () { return types_1.ChangeSource; } });
Object.defineProperty(exports, "Channel", { enumerable: true, get: function () { return types_1.Channel; } });
Object.defineProperty(exports, "ConsentStatus", { enumerable: true, get: function () { return types_1.ConsentStatus; } });
Object.defineProperty(exports, "EnforcementModel", { enumerable: true, get: function () { return types_1.EnforcementModel; } });
Object.defineProperty(exports, "PurposeKind", { enumerable: true, get: function () { return types_1.PurposeKind; } });
Object.defineProperty(exports, "SuppressionKind", { enumerable: true, get: function () { return types_1.SuppressionKind; } });
/** The generated messages and clients of consent.v1. */
exports.pb = __importStar(require("./pb"));

/**
 * The node:http adapter: send a replay from a `ServerResponse`, and guard a handler so that only
 * requests replayed by the app's router get through. Express and Fastify run on node:http too,
 * but have adapters of their own that read as their users expect.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { replayJson, REPLAY_JSON_CONTENT_TYPE, REPLAY_RESPONSE_STATUS, type ReplayJsonOptions } from '../replay-response.ts';
import type { ReplayOptions } from '../replay.ts';
import { checkPresharedKeys, checkSigningKeys, verifyReplayState, verifySignedReplayState, type StateKey, type VerifyStateOptions, type VerifyStateResult } from '../state.ts';
import { replayParts, TEXT_CONTENT_TYPE, UNAUTHORIZED_BODY, UNAUTHORIZED_STATUS, type SendReplayOptions } from './replay-parts.ts';

/** nodeReplay answers with a `fly-replay` header (and cache headers when asked) and ends the response. */
export function nodeReplay(res: ServerResponse, options: ReplayOptions, extra: SendReplayOptions = {}): void {
  const { status, headers, body } = replayParts(options, extra);
  res.writeHead(status, headers);
  res.end(body);
}

/** nodeReplayJson answers with a JSON replay (spec §2), for `transform` and the like. */
export function nodeReplayJson(res: ServerResponse, options: ReplayJsonOptions, extra: { status?: number } = {}): void {
  const body = JSON.stringify(replayJson(options));
  res.writeHead(extra.status ?? REPLAY_RESPONSE_STATUS, { 'content-type': REPLAY_JSON_CONTENT_TYPE });
  res.end(body);
}

function refuse(res: ServerResponse): void {
  res.writeHead(UNAUTHORIZED_STATUS, { 'content-type': TEXT_CONTENT_TYPE });
  res.end(UNAUTHORIZED_BODY);
}

/**
 * nodeRequireReplayState returns a check for the pre-shared key pattern: true when the request
 * was replayed with `state` equal to `key`; otherwise it answers 401 itself and returns false.
 * `if (!requireState(req, res)) return;`
 */
export function nodeRequireReplayState(key: string | readonly string[]): (req: IncomingMessage, res: ServerResponse) => boolean {
  checkPresharedKeys(key);
  return (req, res) => {
    if (verifyReplayState(req, key)) return true;
    refuse(res);
    return false;
  };
}

/**
 * nodeRequireSignedState returns a check for signed states (signState): it resolves to the
 * verification result, and when that is not ok it has already answered 401.
 */
export function nodeRequireSignedState<T = unknown>(
  key: StateKey | readonly StateKey[],
  options: VerifyStateOptions = {},
): (req: IncomingMessage, res: ServerResponse) => Promise<VerifyStateResult<T>> {
  checkSigningKeys(key);
  return async (req, res) => {
    const result = await verifySignedReplayState<T>(req, key, options);
    if (!result.ok) refuse(res);
    return result;
  };
}

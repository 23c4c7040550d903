// PSK rotation: a new key sealed to the link's row and a signal to its workflow, which pushes the
// key to both ends. Shared by POST /api/links/:id/rotate-key and the periodic rotation.
import { conflict, notFound, unavailable } from '../lib/errors';
import { encrypt, randomToken, type SecretKey } from '../lib/crypto';
import type { Logger } from '../lib/log';
import type { LinkWithEnds, Store } from '../store';
import type { LinkOrchestrator } from './context';
import { assertChangeable, KEY_ROTATION } from './link-state';

export interface LinkKeyDeps {
  store: Store;
  secretKey: SecretKey;
  links: Pick<LinkOrchestrator, 'reconfigure'>;
  log: Logger;
  clock: () => Date;
}

export type RotatedLink = LinkWithEnds;

/**
 * Stores a new PSK (version + 1) with the link in state "updating" and a `key.rotation_requested`
 * event, then signals the workflow. When the signal cannot be sent, the previous key, version,
 * time and state are put back and the event removed (nothing would push the new key), and an
 * AppError('unavailable') is thrown. AppError('conflict') when the link is not settled (see
 * assertChangeable) or changed meanwhile; AppError('not_found') for an unknown link.
 */
export async function rotateLinkKey(deps: LinkKeyDeps, linkId: string, opts: { reason?: 'operator' | 'schedule' } = {}): Promise<RotatedLink> {
  const reason = opts.reason ?? 'operator';
  const now = deps.clock();
  const stored = await deps.store.transaction(async (tx) => {
    const link = await tx.links.get(linkId);
    if (!link) throw notFound('link', linkId);
    assertChangeable(link, KEY_ROTATION);
    const keyVersion = link.keyVersion + 1;
    const pskCiphertext = encrypt(deps.secretKey, randomToken(32), { table: 'Link', id: link.id });
    // Conditional on what was checked: a rotation, change or delete that committed in between wins, this one is refused.
    if (!(await tx.links.rotateKey({ linkId: link.id, fromState: link.state, fromKeyVersion: link.keyVersion, pskCiphertext }, now))) {
      throw conflict(`link ${link.id} changed meanwhile; try again once it settled`);
    }
    const eventId = await tx.links.addEvent(
      link.id,
      {
        type: 'key.rotation_requested',
        message: `pre-shared key rotation requested by ${reason === 'schedule' ? 'the rotation schedule' : 'the operator'}: key version ${keyVersion} replaces version ${link.keyVersion}`,
        data: { keyVersion, previousKeyVersion: link.keyVersion, reason },
      },
      now,
    );
    return { before: link, keyVersion, pskCiphertext, eventId };
  });
  const { before } = stored;
  try {
    await deps.links.reconfigure(before.workflowId, 'key');
  } catch (err) {
    // Conditional again: only the rotation made here is undone, never a later write.
    await deps.store.transaction(async (tx) => {
      await tx.links.undoRotation({
        linkId: before.id,
        rotated: { keyVersion: stored.keyVersion, pskCiphertext: stored.pskCiphertext },
        restore: { pskCiphertext: before.pskCiphertext, keyVersion: before.keyVersion, keyRotatedAt: before.keyRotatedAt, state: before.state, stateReason: before.stateReason },
      });
      await tx.links.removeEvent(stored.eventId);
    });
    deps.log.error('could not signal link workflow', { linkId: before.id, err });
    throw unavailable('the workflow service is unreachable; the key was not rotated, try again');
  }
  deps.log.info('link key rotation requested', { linkId: before.id, keyVersion: stored.keyVersion, reason });
  const rotated = await deps.store.links.withEnds(before.id);
  if (!rotated) throw notFound('link', before.id);
  return rotated;
}

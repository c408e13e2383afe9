/**
 * OpenPGP checks of repository metadata with openpgp.js: pure functions over bytes and keys.
 * Only the signed text of an InRelease is returned, never the text around it (field-notes.md: text outside
 * the signed block still "verifies").
 */
import * as openpgp from 'openpgp';
import { VerifyError } from '../errors.js';

export type PublicKeys = openpgp.PublicKey[];

/** Read a keyring: binary (`.gpg`, a concatenation of keys, as in /usr/share/keyrings) or armored (`.asc`). */
export async function parseKeyring(data: Uint8Array, source: string): Promise<PublicKeys> {
  try {
    const text = Buffer.from(data.subarray(0, 64)).toString('latin1');
    if (text.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) {
      return await openpgp.readKeys({ armoredKeys: Buffer.from(data).toString('utf8') });
    }
    return await openpgp.readKeys({ binaryKeys: data });
  } catch (error) {
    throw new VerifyError('bad-keyring', `cannot read keyring ${source}: ${(error as Error).message}`, {
      cause: error,
      hint: 'pass an OpenPGP public keyring (binary .gpg or armored .asc) with --keyring',
    });
  }
}

function keyIds(keys: PublicKeys): string {
  return keys.map((k) => k.getKeyID().toHex().toUpperCase()).join(', ');
}

async function checkSignatures(
  signatures: openpgp.VerifyMessageResult['signatures'],
  keys: PublicKeys,
  what: string,
): Promise<void> {
  if (signatures.length === 0) {
    throw new VerifyError('unsigned', `signature check failed for ${what}: it carries no signature`, {
      hint: 'the mirror serves unsigned metadata; use a signed mirror, or --no-check-gpg if you accept the risk',
    });
  }
  const problems: string[] = [];
  for (const sig of signatures) {
    const id = sig.keyID.toHex().toUpperCase();
    try {
      await sig.verified;
      return; // one good signature by a trusted key is enough, as with gpgv/apt
    } catch (error) {
      problems.push(`${id}: ${(error as Error).message}`);
    }
  }
  const unknown = signatures.every((s) => !keys.some((k) => k.getKeys(s.keyID).length > 0));
  throw new VerifyError(
    unknown ? 'unknown-key' : 'bad-signature',
    unknown
      ? `signature check failed for ${what}: no trusted key signed it (signed by ${signatures.map((s) => s.keyID.toHex().toUpperCase()).join(', ')}; trusted: ${keyIds(keys)})`
      : `signature check failed for ${what}: ${problems.join('; ')}`,
    {
      hint: unknown
        ? 'pass --keyring FILE with the archive key, or install the archive keyring package for this distribution'
        : 'the file was altered or the mirror is broken; use another mirror',
    },
  );
}

/** Verify a clearsigned InRelease; returns only the signed text. */
export async function verifyClearsigned(text: string, keys: PublicKeys, what: string): Promise<string> {
  let message;
  try {
    message = await openpgp.readCleartextMessage({ cleartextMessage: text });
  } catch (error) {
    throw new VerifyError('not-signed', `signature check failed for ${what}: not a clearsigned OpenPGP message (${(error as Error).message})`, {
      cause: error,
      hint: 'the mirror returned something other than an InRelease file; check the mirror URL',
    });
  }
  const result = await openpgp.verify({ message, verificationKeys: keys, expectSigned: false });
  await checkSignatures(result.signatures, keys, what);
  return typeof result.data === 'string' ? result.data : Buffer.from(result.data as Uint8Array).toString('utf8');
}

/** Verify a detached signature (Release + Release.gpg). */
export async function verifyDetached(data: Uint8Array, signature: Uint8Array, keys: PublicKeys, what: string): Promise<void> {
  let sig;
  try {
    const head = Buffer.from(signature.subarray(0, 40)).toString('latin1');
    sig = head.includes('-----BEGIN PGP SIGNATURE-----')
      ? await openpgp.readSignature({ armoredSignature: Buffer.from(signature).toString('utf8') })
      : await openpgp.readSignature({ binarySignature: signature });
  } catch (error) {
    throw new VerifyError('bad-signature', `signature check failed for ${what}: unreadable signature (${(error as Error).message})`, {
      cause: error,
      hint: 'the mirror is broken; use another mirror',
    });
  }
  const message = await openpgp.createMessage({ binary: data });
  const result = await openpgp.verify({ message, signature: sig, verificationKeys: keys, expectSigned: false });
  await checkSignatures(result.signatures, keys, what);
}

/**
 * The text of a clearsigned message WITHOUT checking it: only for --no-check-gpg, where an InRelease is still
 * clearsigned (RFC 4880 §7: dash-escaped lines are unescaped).
 */
export function clearsignedText(text: string): string {
  const m = /-----BEGIN PGP SIGNED MESSAGE-----\r?\n(?:[^\n]+\r?\n)*\r?\n([\s\S]*?)\r?\n-----BEGIN PGP SIGNATURE-----/.exec(text);
  return m ? m[1]!.replace(/^- /gm, '') : text;
}

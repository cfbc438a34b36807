import { readFileSync } from 'node:fs';

/**
 * The public key the example platform trusts: its pipelines sign with the private half (a
 * Secret, never in Git), its serving pods, release step and admission policies verify with this.
 * SLIPWAY_TRUSTED_KEYS_FILE names another public key file, for a local run signing with a
 * throwaway key (the e2e tests) — a file of public keys only, never a private one.
 */
export const trustedKeys = readFileSync(process.env.SLIPWAY_TRUSTED_KEYS_FILE || new URL('./keys/acme-ml-signing.pub', import.meta.url), 'utf8');

import git, { type HttpClient } from 'isomorphic-git';
import nodeHttp from 'isomorphic-git/http/node';
import { SlipwayError } from '../errors.js';
import { BRANCH, type ConfigRepo } from './config-repo.js';
import { durableFs as fs } from './durable-fs.js';

/** Where the token for HTTP(S) pushes comes from: the environment only, never a file. */
export const TOKEN_ENV = 'SLIPWAY_GIT_TOKEN';
export const USERNAME_ENV = 'SLIPWAY_GIT_USERNAME';

export type PushOutcome = 'pushed' | 'rejected';

// A URL given to --push is recorded as this remote, so fetches have somewhere to put its refs.
const URL_REMOTE = 'slipway-push';

export interface RemoteOptions {
  /** Send the token over plain http:// (tests, trusted networks); otherwise refused. */
  readonly allowInsecureHttp?: boolean;
}

/**
 * isomorphic-git's Node client with redirects turned off: simple-get would replay the
 * Authorization header to wherever a redirect points (another port, another host). A redirect
 * is reported instead, so the user configures the final URL.
 */
const http: HttpClient = {
  async request(req) {
    const res = await nodeHttp.request({ ...req, fetchOptions: { ...(req.fetchOptions as object), followRedirects: false } });
    if (res.statusCode >= 300 && res.statusCode < 400) {
      const location = res.headers?.location ?? res.headers?.Location;
      throw new SlipwayError(
        'REMOTE_REDIRECT',
        `${redact(req.url.replace(/\/(info\/refs|git-upload-pack|git-receive-pack).*$/, ''))} answered ${res.statusCode} redirecting to ${location ? redact(location) : '(no location)'}: ` +
          'slipway never follows redirects with credentials; configure the final URL as the remote',
      );
    }
    return res;
  },
};

/** A remote of the config repository reached over HTTP(S) with isomorphic-git. */
export class Remote {
  private constructor(
    private readonly repo: ConfigRepo,
    readonly name: string,
    readonly url: string,
  ) {}

  /** `spec` is a remote name configured in the repository or an http(s) URL. */
  static async resolve(repo: ConfigRepo, spec: string, options: RemoteOptions = {}): Promise<Remote> {
    let url = spec;
    let name = URL_REMOTE;
    if (/^https?:\/\//.test(spec)) {
      checkUrl(spec, options);
      await git.setConfig({ fs, gitdir: repo.gitdir, path: `remote.${URL_REMOTE}.url`, value: spec });
      await git.setConfig({ fs, gitdir: repo.gitdir, path: `remote.${URL_REMOTE}.fetch`, value: `+refs/heads/*:refs/remotes/${URL_REMOTE}/*` });
    } else {
      name = spec;
      const configured = (await git.getConfig({ fs, gitdir: repo.gitdir, path: `remote.${spec}.url` })) as string | undefined;
      if (!configured) {
        throw new SlipwayError(
          'REMOTE_NOT_FOUND',
          `remote '${spec}' is not configured in ${repo.dir}: add it with git -C ${repo.dir} remote add ${spec} <https-url>, or pass --push <https-url>`,
        );
      }
      url = configured;
    }
    checkUrl(url, options);
    return new Remote(repo, name, url);
  }

  get displayUrl(): string {
    return redact(this.url);
  }

  private auth() {
    const token = process.env[TOKEN_ENV];
    return {
      onAuth: () => (token ? { username: process.env[USERNAME_ENV] ?? 'x-access-token', password: token } : undefined),
      onAuthFailure: () => {
        throw new SlipwayError(
          'REMOTE_AUTH_FAILED',
          `${this.displayUrl} refused the credentials: ${token ? `check the token in ${TOKEN_ENV}` : `set ${TOKEN_ENV} to a token that may push`}`,
        );
      },
    };
  }

  /** The commit the remote's main points at, undefined when the remote has no main yet. */
  async head(): Promise<string | undefined> {
    const refs = await this.call(() => git.listServerRefs({ http, url: this.url, prefix: `refs/heads/${BRANCH}`, ...this.auth() }));
    return refs.find((r) => r.ref === `refs/heads/${BRANCH}`)?.oid;
  }

  /** Fetches the remote's main into the object store and returns its commit. */
  async fetch(): Promise<string | undefined> {
    if (!(await this.head())) return undefined;
    const result = await this.call(() =>
      git.fetch({ fs, http, gitdir: this.repo.gitdir, remote: this.name, ref: BRANCH, singleBranch: true, tags: false, cache: this.repo.cache, ...this.auth() }),
    );
    return result.fetchHead ?? undefined;
  }

  /** Pushes local `branch` (main by default); never forces. A remote that moved on answers 'rejected'. */
  async push(branch = BRANCH): Promise<PushOutcome> {
    try {
      const result = await this.call(() =>
        git.push({ fs, http, gitdir: this.repo.gitdir, remote: this.name, ref: branch, remoteRef: branch, force: false, cache: this.repo.cache, ...this.auth() }),
      );
      if (result.ok) return 'pushed';
      const error = result.refs[`refs/heads/${branch}`]?.error ?? result.error ?? 'unknown reason';
      if (/fast.?forward|fetch first|stale/i.test(error)) return 'rejected';
      throw new SlipwayError('PUSH_FAILED', `${this.displayUrl} refused the push: ${error}`);
    } catch (err) {
      if ((err as { code?: string }).code === 'PushRejectedError') return 'rejected';
      throw err;
    }
  }

  private async call<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      if (err instanceof SlipwayError) throw err;
      const cause = err as { code?: string; message?: string };
      if (cause.code === 'PushRejectedError') throw err;
      if (cause.code === 'HttpError' && (err as { data?: { statusCode?: number } }).data?.statusCode === 401) {
        throw new SlipwayError('REMOTE_AUTH_FAILED', `${this.displayUrl} requires credentials: set ${TOKEN_ENV} to a token that may push`, 1, { cause: err });
      }
      // Messages of the HTTP layer may quote the URL: print ours, without credentials.
      throw new SlipwayError('REMOTE_FAILED', `${this.displayUrl}: ${redact(cause.message ?? String(err))}`, 1, { cause: err });
    }
  }
}

function checkUrl(url: string, options: RemoteOptions): void {
  if (!/^https?:\/\//.test(url)) {
    throw new SlipwayError('UNSUPPORTED_REMOTE', `remote ${redact(url)}: slipway pushes over HTTP(S) only`);
  }
  if (url.startsWith('http://') && !options.allowInsecureHttp) {
    throw new SlipwayError(
      'INSECURE_REMOTE',
      `remote ${redact(url)} is plain http://: the token in ${TOKEN_ENV} would travel unencrypted; use https://, ` +
        'or pass --allow-insecure-http for a test server or a trusted network',
    );
  }
  if (/^https?:\/\/[^/]*@/.test(url)) {
    throw new SlipwayError('CREDENTIALS_IN_URL', `remote ${redact(url)} has credentials in its URL: remove them and put the token in ${TOKEN_ENV}`);
  }
}

function redact(text: string): string {
  const token = process.env[TOKEN_ENV];
  const noUserinfo = text.replace(/(https?:\/\/)[^/@\s]+@/g, '$1');
  return token ? noUserinfo.split(token).join('***') : noUserinfo;
}

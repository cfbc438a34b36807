/** REST routes of the Open Inference Protocol and the extensions slipway serves. */
export type Route =
  | { kind: 'server-metadata' | 'live' | 'ready' | 'metrics' | 'repository-index' | 'all-stats' }
  | { kind: 'repository-load' | 'repository-unload'; name: string }
  | { kind: 'model-metadata' | 'model-ready' | 'infer' | 'drift' | 'feedback' | 'model-stats' | 'model-config'; name: string; version: string | undefined };

const MODEL_ACTIONS: Readonly<Record<string, Extract<Route, { version: string | undefined }>['kind']>> = {
  '': 'model-metadata',
  ready: 'model-ready',
  infer: 'infer',
  drift: 'drift',
  feedback: 'feedback',
  stats: 'model-stats',
  config: 'model-config',
};


export function parseRoute(url: string): Route | undefined {
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  switch (path) {
    case '/v2':
    case '/v2/':
      return { kind: 'server-metadata' };
    case '/v2/health/live':
      return { kind: 'live' };
    case '/v2/health/ready':
      return { kind: 'ready' };
    case '/metrics':
      return { kind: 'metrics' };
    case '/v2/repository/index':
      return { kind: 'repository-index' };
    case '/v2/models/stats':
      return { kind: 'all-stats' };
  }
  const repository = /^\/v2\/repository\/models\/([^/]+)\/(load|unload)$/.exec(path);
  if (repository) {
    try {
      return { kind: repository[2] === 'load' ? 'repository-load' : 'repository-unload', name: decodeURIComponent(repository[1]!) };
    } catch {
      return undefined;
    }
  }
  if (!path.startsWith('/v2/models/')) return undefined;
  const parts = path.slice('/v2/models/'.length).split('/');
  let name: string;
  try {
    name = decodeURIComponent(parts[0]!);
  } catch {
    return undefined;
  }
  let version: string | undefined;
  let rest = parts.slice(1);
  if (rest[0] === 'versions' && rest.length >= 2) {
    try {
      version = decodeURIComponent(rest[1]!);
    } catch {
      return undefined;
    }
    rest = rest.slice(2);
  }
  if (name === '' || rest.length > 1) return undefined;
  const kind = Object.hasOwn(MODEL_ACTIONS, rest[0] ?? '') ? MODEL_ACTIONS[rest[0] ?? ''] : undefined;
  return kind === undefined ? undefined : { kind, name, version };
}

export function methodFor(route: Route): 'GET' | 'POST' {
  switch (route.kind) {
    case 'infer':
    case 'feedback':
    case 'repository-index':
    case 'repository-load':
    case 'repository-unload':
      return 'POST';
    default:
      return 'GET';
  }
}


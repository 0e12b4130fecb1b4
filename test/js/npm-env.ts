// The environment of an npm run that a test makes as a user would: nothing of
// the developer's machine but what reaching the registry needs. A test that
// kept only HOME and PATH dropped the machine's certificate settings
// (NODE_EXTRA_CA_CERTS here) and failed with SELF_SIGNED_CERT_IN_CHAIN as
// soon as a package was not in the npm cache already.
import * as os from 'node:os';
import * as path from 'node:path';

/** Certificates and proxies, as Node, OpenSSL and npm read them from the environment. */
const REGISTRY_SETTINGS = /^(NODE_EXTRA_CA_CERTS|SSL_CERT_FILE|SSL_CERT_DIR|HTTPS?_PROXY|NO_PROXY|ALL_PROXY|npm_config_(registry|cafile|ca|strict_ssl|proxy|https_proxy|noproxy|userconfig))$/i;

/** HOME, the npm cache, the registry settings, and `PATH` as given (a folder without compilers, say). */
export function npmEnvironment(pathVariable: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    HOME: process.env.HOME ?? os.homedir(),
    PATH: pathVariable,
    npm_config_cache: process.env.npm_config_cache ?? path.join(os.homedir(), '.npm'),
  };
  for (const [key, value] of Object.entries(process.env)) if (REGISTRY_SETTINGS.test(key)) env[key] = value;
  return env;
}

// A small W3C WebDriver client over fetch (Node 20): just what the desktop tests use, so
// the harness has no npm dependencies. tauri-driver speaks the W3C protocol and forwards
// it to WebKitWebDriver, which drives the app's WebKitGTK webview.
//
// Spec: https://www.w3.org/TR/webdriver2/ ; the element key below is the spec's.
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

export class WebDriverError extends Error {
  constructor(method, path, status, value) {
    super(`${method} ${path}: ${status} ${value?.error ?? ''} ${value?.message ?? ''}`.trim());
    this.status = status;
    this.error = value?.error;
  }
}

async function call(base, method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new WebDriverError(method, path, res.status, json.value);
  return json.value;
}

/** An element of the page. */
export class Element {
  constructor(session, id) {
    this.session = session;
    this.id = id;
  }
  #path(p) {
    return `/element/${this.id}${p}`;
  }
  click() {
    return this.session.cmd('POST', this.#path('/click'), {});
  }
  type(text) {
    return this.session.cmd('POST', this.#path('/value'), { text });
  }
  clear() {
    return this.session.cmd('POST', this.#path('/clear'), {});
  }
  text() {
    return this.session.cmd('GET', this.#path('/text'));
  }
  attribute(name) {
    return this.session.cmd('GET', this.#path(`/attribute/${encodeURIComponent(name)}`));
  }
}

/** One session: one launch of the app. */
export class Session {
  constructor(base, id, capabilities) {
    this.base = base;
    this.id = id;
    this.capabilities = capabilities;
  }

  /** Launches `application` (the app's executable) through tauri-driver at `base`. */
  static async start(base, application, args = []) {
    const value = await call(base, 'POST', '/session', {
      capabilities: { alwaysMatch: { 'tauri:options': { application, args } } },
    });
    return new Session(base, value.sessionId, value.capabilities);
  }

  cmd(method, path, body) {
    return call(this.base, method, `/session/${this.id}${path}`, body);
  }

  /** Ends the session: the driver closes the app. */
  async end() {
    await this.cmd('DELETE', '');
  }

  title() {
    return this.cmd('GET', '/title');
  }
  url() {
    return this.cmd('GET', '/url');
  }

  /** Runs `script` (a function body; `arguments` are `args`) in the page. */
  execute(script, ...args) {
    return this.cmd('POST', '/execute/sync', { script, args });
  }

  /**
   * Awaits the promise `script` returns in the page, as `{ value }`; a rejection comes
   * back as `{ error }`: an Error's message, or what was thrown (a command's `{ code,
   * message }`).
   */
  run(script, ...args) {
    const wrapped = `const done = arguments[arguments.length - 1];
      Promise.resolve((async () => { ${script} })(...Array.from(arguments).slice(0, -1)))
        .then((value) => done({ value }), (e) => done({ error: e instanceof Error ? e.message : e }));`;
    return this.cmd('POST', '/execute/async', { script: wrapped, args });
  }

  /** Invokes one of the app's commands (`web/src/platform/tauri.ts` does the same). */
  invoke(command, args = {}) {
    return this.run(
      'return window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1]);',
      command,
      args,
    );
  }

  async find(css) {
    const value = await this.cmd('POST', '/element', { using: 'css selector', value: css });
    return new Element(this, value[ELEMENT]);
  }

  /** The page's screenshot as PNG bytes. */
  async screenshot() {
    return Buffer.from(await this.cmd('GET', '/screenshot'), 'base64');
  }

  /** Polls `predicate` (a page function body returning truthy) until it holds. */
  async waitFor(predicate, { timeout = 20_000, every = 200, what = predicate } = {}) {
    const until = Date.now() + timeout;
    let last;
    while (Date.now() < until) {
      try {
        last = await this.execute(predicate);
        if (last) return last;
      } catch (e) {
        last = e;
      }
      await new Promise((r) => setTimeout(r, every));
    }
    throw new Error(`timed out waiting for: ${what} (last: ${last})`);
  }
}

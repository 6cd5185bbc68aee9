// A minimal XMLHttpRequest over fetch, for running dicomweb-client (written for browsers) under
// Node.js: the subset the library uses (open, setRequestHeader, responseType, send,
// onreadystatechange, status, response, getResponseHeader, getAllResponseHeaders). Like a
// browser, fetch asks for and decodes compressed responses.

export class XMLHttpRequest {
  static UNSENT = 0;
  static OPENED = 1;
  static DONE = 4;

  constructor() {
    this.readyState = XMLHttpRequest.UNSENT;
    this.status = 0;
    this.statusText = '';
    this.responseType = '';
    this.response = null;
    this.responseText = '';
    this.withCredentials = false;
    this.onreadystatechange = null;
    this.onload = null;
    this.onerror = null;
    this.onloadstart = null;
    this.onloadend = null;
    this.onprogress = null;
    this._headers = {};
    this._responseHeaders = null;
  }

  open(method, url) {
    this._method = method.toUpperCase();
    this._url = url;
    this._headers = {};
    this.readyState = XMLHttpRequest.OPENED;
  }

  setRequestHeader(name, value) {
    this._headers[name] = value;
  }

  getResponseHeader(name) {
    return this._responseHeaders ? this._responseHeaders.get(name) : null;
  }

  getAllResponseHeaders() {
    if (!this._responseHeaders) return '';
    let out = '';
    for (const [k, v] of this._responseHeaders) out += `${k}: ${v}\r\n`;
    return out;
  }

  send(body) {
    const init = { method: this._method, headers: this._headers };
    if (body !== undefined && body !== null) init.body = body instanceof ArrayBuffer ? new Uint8Array(body) : body;
    this.onloadstart?.();
    fetch(this._url, init)
      .then(async (res) => {
        this.status = res.status;
        this.statusText = res.statusText;
        this._responseHeaders = res.headers;
        const buf = await res.arrayBuffer();
        const text = () => new TextDecoder().decode(buf);
        switch (this.responseType) {
          case 'arraybuffer':
            this.response = buf;
            break;
          case 'json':
            try {
              this.response = buf.byteLength ? JSON.parse(text()) : null;
            } catch {
              this.response = null;
            }
            break;
          default:
            this.responseText = text();
            this.response = this.responseText;
        }
        this._done();
        this.onload?.();
      })
      .catch((err) => {
        this.status = 0;
        this.error = err;
        this._done();
        this.onerror?.(err);
      })
      .finally(() => this.onloadend?.());
  }

  _done() {
    this.readyState = XMLHttpRequest.DONE;
    this.onreadystatechange?.();
  }
}

// install makes XMLHttpRequest global, where dicomweb-client looks for it.
export function install() {
  globalThis.XMLHttpRequest ??= XMLHttpRequest;
}

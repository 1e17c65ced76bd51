// One PUT from the page with upload progress (fetch has none for request bodies): resolves to the
// HTTP status, -403 for a pre-signed URL that expired, 0 for a network error or timeout.
export function xhrPut(url: string, headers: Record<string, string>, body: Blob, onLoaded: (bytes: number) => void): Promise<number> {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    // content-length is the browser's to set; the URL signs it, and the body has exactly that many bytes.
    for (const [k, v] of Object.entries(headers)) if (k !== 'content-length') xhr.setRequestHeader(k, v);
    xhr.timeout = 120_000;
    xhr.upload.onprogress = (e) => onLoaded(e.loaded);
    xhr.onload = () => resolve(xhr.status === 403 && /expired/i.test(xhr.responseText) ? -403 : xhr.status);
    xhr.onerror = xhr.ontimeout = () => resolve(0);
    xhr.send(body);
  });
}

/** Worth another attempt: a network error, a timeout, a 5xx or a throttle. */
export const transient = (status: number) => status === 0 || status >= 500 || status === 429;

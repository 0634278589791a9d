import { once } from 'node:events';
import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { answerClientError } from './http.js';

/** A socket that records what is written to it. */
function socket(): [Duplex, () => string] {
  const written: Buffer[] = [];
  const duplex = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk);
      done();
    },
  });
  return [duplex, () => Buffer.concat(written).toString('utf8')];
}
const parserError = (code: string) => Object.assign(new Error(`Parse Error: ${code}`), { code });

describe('answers to requests the HTTP parser refused', () => {
  it.each([
    ['HPE_INVALID_HEADER_TOKEN', 400, 'Bad Request', 'BAD_REQUEST'],
    ['HPE_INVALID_CONTENT_LENGTH', 400, 'Bad Request', 'BAD_REQUEST'],
    ['HPE_HEADER_OVERFLOW', 431, 'Request Header Fields Too Large', 'HEADERS_TOO_LARGE'],
    ['HPE_CHUNK_EXTENSIONS_OVERFLOW', 413, 'Content Too Large', 'PAYLOAD_TOO_LARGE'],
    ['ERR_HTTP_REQUEST_TIMEOUT', 408, 'Request Timeout', 'REQUEST_TIMEOUT'],
  ])('%s: %i with a coded JSON body, then the socket is closed', async (code, status, reason, errorCode) => {
    const [duplex, written] = socket();
    const closed = once(duplex, 'close');
    answerClientError(parserError(code), duplex);
    await closed;
    const [head, body] = written().split('\r\n\r\n') as [string, string];
    expect(head.split('\r\n')[0]).toBe(`HTTP/1.1 ${status} ${reason}`);
    expect(head).toContain('\r\nconnection: close');
    expect(head).toContain(`\r\ncontent-length: ${Buffer.byteLength(body)}`);
    expect(JSON.parse(body)).toEqual({ errors: [{ message: expect.any(String), extensions: { code: errorCode } }] });
    expect(body).not.toContain(code);
  });

  it('writes nothing to a connection reset by the peer, or one already answering', async () => {
    const [reset, resetWritten] = socket();
    answerClientError(parserError('ECONNRESET'), reset);
    expect(reset.destroyed).toBe(true);
    expect(resetWritten()).toBe('');
    const [answering, answeringWritten] = socket();
    Object.assign(answering, { _httpMessage: { headersSent: true } });
    answerClientError(parserError('HPE_INVALID_METHOD'), answering);
    expect(answering.destroyed).toBe(true);
    expect(answeringWritten()).toBe('');
  });
});

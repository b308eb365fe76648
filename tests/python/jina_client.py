"""The stock Jina client (jina 3.34, docarray 0.21) against a running flowhost gateway.

    python jina_client.py --host 127.0.0.1 --port PORT --protocol grpc|http|websocket CHECK...

Checks:
  roundtrip  post Documents with text, tags, embeddings, chunks to /index through the
             example flow (foo_executor then noop_executor) and check what comes back.
  error      post to /error on a flow whose executor raises; expect Jina's exception.
  tls        (with --tls --ca FILE) roundtrip over TLS.
Exits 0 when every check passes; prints what failed otherwise.
"""
import argparse
import os
import sys

os.environ.setdefault('JINA_OPTOUT_TELEMETRY', '1')
os.environ.setdefault('JINA_LOG_LEVEL', 'ERROR')

import numpy as np  # noqa: E402
from docarray import Document, DocumentArray  # noqa: E402
from jina import Client  # noqa: E402


def fail(message):
    print(f'FAIL: {message}', flush=True)
    sys.exit(1)


def expect(condition, message):
    if not condition:
        fail(message)


def client(args):
    kwargs = dict(host=args.host, port=args.port, protocol=args.protocol)
    if args.tls:
        kwargs['tls'] = True
    return Client(**kwargs)


def check_roundtrip(args):
    c = client(args)
    expect(c.is_flow_ready(), 'is_flow_ready() is False')
    docs = DocumentArray()
    for i in range(3):
        d = Document(text=f'doc {i}', tags={'i': i, 'lang': 'en', 'nested': {'k': [1, 'x']}})
        d.embedding = np.arange(4, dtype=np.float32) + i
        d.chunks.append(Document(text=f'chunk {i}'))
        docs.append(d)
    kwargs = {}
    if args.compression:
        kwargs['compression'] = args.compression
    result = c.post('/index', docs, parameters={'p': 1}, request_size=2, **kwargs)
    expect(isinstance(result, DocumentArray), f'post returned {type(result)}')
    texts = [d.text for d in result]
    # foo_executor appends one document per request; requests are of 2 then 1 documents.
    expect(
        sum(1 for t in texts if t.startswith('doc ')) == 3,
        f'the three documents did not come back: {texts}',
    )
    expect(
        sum(1 for t in texts if t.startswith('foo was here')) == 2,
        f'foo_executor did not run once per request: {texts}',
    )
    by_text = {d.text: d for d in result}
    for i in range(3):
        d = by_text[f'doc {i}']
        expect(d.id == docs[i].id, f'id changed: {d.id} != {docs[i].id}')
        expect(d.tags['i'] == float(i), f'tags changed: {d.tags}')
        expect(d.tags['lang'] == 'en', f'tags changed: {d.tags}')
        expect(d.tags['nested']['k'][1] == 'x', f'nested tags changed: {d.tags}')
        expect(d.embedding is not None, 'embedding lost')
        expect(np.allclose(d.embedding, np.arange(4, dtype=np.float32) + i), f'embedding changed: {d.embedding}')
        expect(len(d.chunks) == 1 and d.chunks[0].text == f'chunk {i}', f'chunks changed: {d.chunks}')
    print(f'roundtrip ok over {args.protocol}: {len(result)} documents', flush=True)


def check_error(args):
    from jina.excepts import BadServer

    c = client(args)
    try:
        c.post('/error', Document(text='x'))
    except BadServer as e:
        header = e.args[0]
        status = header.status
        expect(status.code == 1, f'status code {status.code}')
        expect(status.exception.name == 'ValueError', f'exception name {status.exception.name}')
        expect(any('bad input' in a for a in status.exception.args), f'args {list(status.exception.args)}')
        print(f'error ok over {args.protocol}: {status.exception.name}{tuple(status.exception.args)}', flush=True)
        return
    except Exception as e:  # noqa: BLE001
        # The HTTP and WebSocket clients raise their own wrappers around the same header.
        text = repr(e)
        expect('ValueError' in text and 'bad input' in text, f'unexpected exception {text}')
        print(f'error ok over {args.protocol}: {text[:200]}', flush=True)
        return
    fail('posting to /error did not raise')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--protocol', default='grpc')
    ap.add_argument('--tls', action='store_true')
    ap.add_argument('--ca', help='CA certificate to trust (sets SSL_CERT_FILE and GRPC roots)')
    ap.add_argument('--compression', choices=['Gzip', 'Deflate'])
    ap.add_argument('checks', nargs='+')
    args = ap.parse_args()
    if args.ca:
        os.environ['SSL_CERT_FILE'] = args.ca
        os.environ['GRPC_DEFAULT_SSL_ROOTS_FILE_PATH'] = args.ca
    for check in args.checks:
        {'roundtrip': check_roundtrip, 'error': check_error}[check](args)


if __name__ == '__main__':
    main()

"""Jina (3.34, docarray 0.21) on either side of a flowhost hop.

    python jina_interop.py gateway-to PORT   a Jina Flow whose `external: true` executor is the
                                             flowhost `executor serve` at PORT (foo_executor);
                                             the stock client's roundtrip through Jina's gateway
    python jina_interop.py serve PORT        a Jina executor (Python) on PORT for a flowhost
                                             flow's `external: true`; prints READY, serves until
                                             killed
"""
import os
import socket
import sys
from argparse import Namespace

os.environ.setdefault('JINA_OPTOUT_TELEMETRY', '1')
os.environ.setdefault('JINA_LOG_LEVEL', 'ERROR')

from docarray import Document, DocumentArray  # noqa: E402
from jina import Deployment, Executor, Flow, requests  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jina_client import check_roundtrip  # noqa: E402


class JinaTagger(Executor):
    """Marks every document and adds one, so both are visible on the flowhost side."""

    @requests
    def tag(self, docs: DocumentArray, **kwargs):
        for doc in docs:
            doc.tags['seen_by'] = 'jina'
        docs.append(Document(text=f'jina was here and got {len(docs)} document'))
        return docs


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def gateway_to(executor_port):
    port = free_port()
    flow = Flow(protocol='grpc', port=port).add(
        name='wasm', external=True, host='127.0.0.1', port=executor_port)
    with flow:
        check_roundtrip(Namespace(host='127.0.0.1', port=port, protocol='grpc', tls=False,
                                  compression=None))


def serve(port):
    with Deployment(uses=JinaTagger, port=port, protocol='grpc', host='127.0.0.1'):
        print('READY', flush=True)
        # Served until the test kills this process.
        sys.stdin.read()


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    {'gateway-to': gateway_to, 'serve': serve}[mode](port)


if __name__ == '__main__':
    main()

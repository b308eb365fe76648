"""What the pinned Jina gives a floating executor that needs a floating executor and a
main-path one, for flowhost's router to match (`flows::a_floating_executor_joins_...`).

    python jina_floating.py LOG_DIR

Runs a Jina Flow of executors that each log the ids they got and append one document:
`main` (needs the gateway), `side` (floating, needs the gateway) and `late` (floating, needs
[side, main]), posts one request with no documents, waits for the floating executors, and
prints one JSON line: the reply's ids and each executor's input ids.
"""
import json
import os
import socket
import sys
import time

os.environ.setdefault('JINA_OPTOUT_TELEMETRY', '1')
os.environ.setdefault('JINA_LOG_LEVEL', 'ERROR')

from docarray import Document, DocumentArray  # noqa: E402
from jina import Executor, Flow, requests  # noqa: E402


class Appender(Executor):
    """Logs the ids it got to LOG_DIR/<label>.json, then appends a document `<label>`."""

    def __init__(self, label='', log_dir='', **kwargs):
        super().__init__(**kwargs)
        self.label = label
        self.log_dir = log_dir

    @requests
    def append(self, docs: DocumentArray, **kwargs):
        with open(os.path.join(self.log_dir, f'{self.label}.json'), 'w') as log:
            json.dump([doc.id for doc in docs], log)
        docs.append(Document(id=self.label))
        return docs


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def main():
    log_dir = sys.argv[1]
    labels = ['main', 'side', 'late']

    def appender(label):
        return dict(uses=Appender, uses_with={'label': label, 'log_dir': log_dir})

    flow = (Flow(port=free_port())
            .add(name='main', needs='gateway', **appender('main'))
            .add(name='side', needs='gateway', floating=True, **appender('side'))
            .add(name='late', needs=['side', 'main'], floating=True, **appender('late')))
    with flow:
        reply = flow.post('/', DocumentArray())
        deadline = time.monotonic() + 60
        while not all(os.path.exists(os.path.join(log_dir, f'{label}.json')) for label in labels):
            if time.monotonic() > deadline:
                sys.exit(f'the floating executors did not run: {os.listdir(log_dir)}')
            time.sleep(0.05)
    inputs = {}
    for label in labels:
        with open(os.path.join(log_dir, f'{label}.json')) as log:
            inputs[label] = json.load(log)
    print(json.dumps({'reply': [doc.id for doc in reply], 'inputs': inputs}))


if __name__ == '__main__':
    main()

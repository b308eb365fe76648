"""An OCI image layout from a root filesystem folder, with standard library only.

    python3 oci_image.py ROOTFS OUT_DIR TAG

One gzip layer (sorted entries, owner 0, mtime 0: the same files give the same digest), a
linux/amd64 config running /usr/local/bin/flowhost as user 65532, and `index.json` naming
the manifest by TAG. `skopeo copy oci:OUT_DIR:TAG docker://...` pushes it.
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile


def layer(rootfs):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode='w', format=tarfile.PAX_FORMAT) as tar:
        for folder, dirs, files in os.walk(rootfs):
            dirs.sort()
            for name in sorted(dirs) + sorted(files):
                path = os.path.join(folder, name)
                info = tar.gettarinfo(path, arcname=os.path.relpath(path, rootfs))
                # Root owns the image's files; the user's home is its own.
                relative = os.path.relpath(path, rootfs)
                owner = 65532 if relative.startswith('home/nonroot') else 0
                info.uid = info.gid = owner
                info.uname = info.gname = ''
                info.mtime = 0
                if info.isfile():
                    with open(path, 'rb') as fh:
                        tar.addfile(info, fh)
                else:
                    tar.addfile(info)
    uncompressed = raw.getvalue()
    compressed = gzip.compress(uncompressed, mtime=0)
    return uncompressed, compressed


def blob(out, data):
    digest = hashlib.sha256(data).hexdigest()
    os.makedirs(os.path.join(out, 'blobs', 'sha256'), exist_ok=True)
    with open(os.path.join(out, 'blobs', 'sha256', digest), 'wb') as fh:
        fh.write(data)
    return {'digest': f'sha256:{digest}', 'size': len(data)}


def main():
    rootfs, out, tag = sys.argv[1], sys.argv[2], sys.argv[3]
    uncompressed, compressed = layer(rootfs)
    layer_desc = blob(out, compressed)
    config = {
        'architecture': 'amd64',
        'os': 'linux',
        'config': {
            'User': '65532:65532',
            'Entrypoint': ['/usr/local/bin/flowhost'],
            'Cmd': ['--help'],
            'Env': [
                'PATH=/usr/local/bin:/usr/bin:/bin',
                'FLOWHOST_CACHE_DIR=/tmp/flowhost-cache',
                'SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt',
            ],
            'WorkingDir': '/',
        },
        'rootfs': {
            'type': 'layers',
            'diff_ids': ['sha256:' + hashlib.sha256(uncompressed).hexdigest()],
        },
    }
    config_desc = blob(out, json.dumps(config, sort_keys=True).encode())
    manifest = {
        'schemaVersion': 2,
        'mediaType': 'application/vnd.oci.image.manifest.v1+json',
        'config': {'mediaType': 'application/vnd.oci.image.config.v1+json', **config_desc},
        'layers': [{'mediaType': 'application/vnd.oci.image.layer.v1.tar+gzip', **layer_desc}],
    }
    manifest_desc = blob(out, json.dumps(manifest, sort_keys=True).encode())
    index = {
        'schemaVersion': 2,
        'manifests': [{
            'mediaType': 'application/vnd.oci.image.manifest.v1+json',
            **manifest_desc,
            'platform': {'architecture': 'amd64', 'os': 'linux'},
            'annotations': {'org.opencontainers.image.ref.name': tag},
        }],
    }
    with open(os.path.join(out, 'index.json'), 'w') as fh:
        json.dump(index, fh)
    with open(os.path.join(out, 'oci-layout'), 'w') as fh:
        json.dump({'imageLayoutVersion': '1.0.0'}, fh)
    print(manifest_desc['digest'])


if __name__ == '__main__':
    main()

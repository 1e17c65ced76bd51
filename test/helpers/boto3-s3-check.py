#!/usr/bin/python3
# The local S3 server driven by a second SDK: Debian's python3-boto3. Run by
# test/local-s3-boto3.test.ts with /usr/bin/python3; prints one JSON document of what boto3 parsed
# (ETags, checksums, part lists, error codes, HTTP statuses) for the test to assert on.
#
# Environment: LOCAL_S3_ENDPOINT, LOCAL_S3_ACCESS_KEY_ID, LOCAL_S3_SECRET_ACCESS_KEY, LOCAL_S3_BUCKET,
# and LOCAL_S3_PARTS: the files holding the multipart upload's parts, joined by os.pathsep (the
# test writes them and computes every expected digest itself).
#
# Debian's boto3 may predate conditional writes (botocore < 1.35 has no IfNoneMatch / IfMatch on
# PutObject): those headers are added in botocore's before-sign hook, so they go on the wire, signed,
# exactly as a newer boto3 sends them.
import base64
import hashlib
import json
import os
import re
import sys
import threading
import traceback
import urllib.error
import urllib.request

import boto3
from botocore import UNSIGNED
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

ENDPOINT = os.environ['LOCAL_S3_ENDPOINT']
BUCKET = os.environ['LOCAL_S3_BUCKET']
PARTS = [open(p, 'rb').read() for p in os.environ['LOCAL_S3_PARTS'].split(os.pathsep)]
MPU_KEY = 'mpu/big.bin'


def client(signature_version='s3v4', headers=None):
    """A boto3 S3 client on the local server; `headers` are added to every PutObject before signing."""
    c = boto3.session.Session().client(
        's3',
        endpoint_url=ENDPOINT,
        region_name='us-east-1',
        aws_access_key_id=os.environ['LOCAL_S3_ACCESS_KEY_ID'],
        aws_secret_access_key=os.environ['LOCAL_S3_SECRET_ACCESS_KEY'],
        config=Config(s3={'addressing_style': 'path'}, signature_version=signature_version, retries={'total_max_attempts': 1}),
    )
    if headers:
        def add(request, **_):
            for name, value in headers.items():
                request.headers[name] = value
        c.meta.events.register('before-sign.s3.PutObject', add)
    return c


def sha256_b64(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def failure(call):
    """What a call that must fail answered: the S3 error code and the HTTP status boto3 saw."""
    try:
        call()
    except ClientError as e:
        return {'code': e.response['Error'].get('Code'), 'status': e.response['ResponseMetadata']['HTTPStatusCode']}
    return {'code': None, 'status': 'succeeded'}


def fetch(url):
    """GET a URL with urllib: status, body (text), and the <Code> of an error document."""
    try:
        with urllib.request.urlopen(url, timeout=30) as res:
            return {'status': res.status, 'body': res.read().decode('utf8', 'replace'), 'code': None}
    except urllib.error.HTTPError as e:
        body = e.read().decode('utf8', 'replace')
        m = re.search(r'<Code>([^<]*)</Code>', body)
        msg = re.search(r'<Message>([^<]*)</Message>', body)
        return {'status': e.code, 'code': m and m.group(1), 'message': msg and msg.group(1)}


def parts_of(listing):
    return [{'PartNumber': p['PartNumber'], 'ETag': p['ETag'], 'Size': p['Size'], 'ChecksumSHA256': p.get('ChecksumSHA256')} for p in listing.get('Parts', [])]


def upload_parts(s3, upload_id):
    out = []
    for n, body in enumerate(PARTS, start=1):
        r = s3.upload_part(Bucket=BUCKET, Key=MPU_KEY, UploadId=upload_id, PartNumber=n, Body=body, ChecksumSHA256=sha256_b64(body))
        out.append({'PartNumber': n, 'ETag': r['ETag'], 'ChecksumSHA256': r.get('ChecksumSHA256')})
    return out


def list_parts_paged(s3, upload_id):
    pages, marker = [], 0
    while True:
        r = s3.list_parts(Bucket=BUCKET, Key=MPU_KEY, UploadId=upload_id, MaxParts=1, PartNumberMarker=marker)
        pages.append({'PartNumberMarker': r.get('PartNumberMarker'), 'NextPartNumberMarker': r.get('NextPartNumberMarker'), 'MaxParts': r.get('MaxParts'),
                      'IsTruncated': r['IsTruncated'], 'Parts': [p['PartNumber'] for p in r.get('Parts', [])]})
        if not r['IsTruncated'] or len(pages) > 10:
            return pages
        marker = r['NextPartNumberMarker']


def list_uploads_paged(s3):
    pages, markers = [], {}
    while True:
        r = s3.list_multipart_uploads(Bucket=BUCKET, Prefix='mpu/', MaxUploads=1, **markers)
        pages.append({'KeyMarker': r.get('KeyMarker'), 'UploadIdMarker': r.get('UploadIdMarker'), 'IsTruncated': r['IsTruncated'],
                      'NextKeyMarker': r.get('NextKeyMarker'), 'NextUploadIdMarker': r.get('NextUploadIdMarker'),
                      'Uploads': [[u['Key'], u['UploadId'], u.get('ChecksumAlgorithm')] for u in r.get('Uploads', [])]})
        if not r['IsTruncated'] or len(pages) > 10:
            return pages
        markers = {'KeyMarker': r['NextKeyMarker'], 'UploadIdMarker': r['NextUploadIdMarker']}


def multipart(s3):
    out = {}
    created = s3.create_multipart_upload(Bucket=BUCKET, Key=MPU_KEY, ChecksumAlgorithm='SHA256')
    upload_id = created['UploadId']
    out['create'] = {'UploadId': upload_id, 'Key': created['Key'], 'Bucket': created['Bucket'], 'ChecksumAlgorithm': created.get('ChecksumAlgorithm')}
    # A part whose ChecksumSHA256 is not its bytes': refused, and nothing of it is stored (part 9 is never listed).
    out['badDigest'] = failure(lambda: s3.upload_part(Bucket=BUCKET, Key=MPU_KEY, UploadId=upload_id, PartNumber=9, Body=PARTS[-1], ChecksumSHA256=sha256_b64(b'other bytes')))
    # A part with no checksum at all, on an upload that declared SHA256: refused, not stored (part 8).
    out['noChecksum'] = failure(lambda: s3.upload_part(Bucket=BUCKET, Key=MPU_KEY, UploadId=upload_id, PartNumber=8, Body=PARTS[-1]))
    out['uploaded'] = upload_parts(s3, upload_id)
    listed = s3.list_parts(Bucket=BUCKET, Key=MPU_KEY, UploadId=upload_id)
    out['listParts'] = {'ChecksumAlgorithm': listed.get('ChecksumAlgorithm'), 'IsTruncated': listed['IsTruncated'], 'Parts': parts_of(listed)}
    out['listPartsPages'] = list_parts_paged(s3, upload_id)
    others = [s3.create_multipart_upload(Bucket=BUCKET, Key=k)['UploadId'] for k in ('mpu/other', 'mpu/other', 'elsewhere/x')]
    out['otherUploads'] = others
    out['listUploadsPages'] = list_uploads_paged(s3)
    everything = s3.list_multipart_uploads(Bucket=BUCKET, Prefix='mpu/')
    out['listUploads'] = [[u['Key'], u['UploadId']] for u in everything.get('Uploads', [])]
    for key, uid in zip(('mpu/other', 'mpu/other', 'elsewhere/x'), others):
        s3.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=uid)
    parts = [{'PartNumber': p['PartNumber'], 'ETag': p['ETag'], 'ChecksumSHA256': p['ChecksumSHA256']} for p in out['uploaded']]
    complete = lambda: s3.complete_multipart_upload(Bucket=BUCKET, Key=MPU_KEY, UploadId=upload_id, MultipartUpload={'Parts': parts})
    keep = lambda r: {'ETag': r['ETag'], 'ChecksumSHA256': r.get('ChecksumSHA256'), 'Key': r.get('Key'), 'Bucket': r.get('Bucket'), 'Location': r.get('Location'),
                      'status': r['ResponseMetadata']['HTTPStatusCode']}
    out['complete'] = keep(complete())
    try:  # the SDK's retry of a Complete whose answer was lost; refused, it is recorded, not raised
        out['completeAgain'] = keep(complete())
    except ClientError as e:
        out['completeAgain'] = {'code': e.response['Error'].get('Code'), 'status': e.response['ResponseMetadata']['HTTPStatusCode']}
    out['listPartsAfter'] = failure(lambda: s3.list_parts(Bucket=BUCKET, Key=MPU_KEY, UploadId=upload_id))
    out.update(read_back(s3))
    return out


def read_back(s3):
    head = s3.head_object(Bucket=BUCKET, Key=MPU_KEY, ChecksumMode='ENABLED')
    got = s3.get_object(Bucket=BUCKET, Key=MPU_KEY, ChecksumMode='ENABLED')
    body = got['Body'].read()
    plain = s3.head_object(Bucket=BUCKET, Key=MPU_KEY)
    attrs = s3.get_object_attributes(Bucket=BUCKET, Key=MPU_KEY, ObjectAttributes=['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'])
    page = s3.get_object_attributes(Bucket=BUCKET, Key=MPU_KEY, ObjectAttributes=['ObjectParts'], MaxParts=1, PartNumberMarker=1)
    strip = lambda r: {k: v for k, v in r.items() if k not in ('ResponseMetadata', 'LastModified')}
    return {
        'head': {'ETag': head['ETag'], 'ContentLength': head['ContentLength'], 'ChecksumSHA256': head.get('ChecksumSHA256')},
        'headWithoutMode': {'ChecksumSHA256': plain.get('ChecksumSHA256')},
        'get': {'ETag': got['ETag'], 'ContentLength': got['ContentLength'], 'ChecksumSHA256': got.get('ChecksumSHA256'), 'bodySha256': hashlib.sha256(body).hexdigest()},
        'attributes': strip(attrs),
        'attributesPage': strip(page),
    }


def put_conditional(headers, key, body):
    return client(headers=headers).put_object(Bucket=BUCKET, Key=key, Body=body)


def race(s3, rounds=8):
    """Two writers, one If-None-Match: * each, released together on a new key: exactly one wins."""
    out = []
    for i in range(rounds):
        key = 'cond/race-%d' % i
        writers = [client(headers={'If-None-Match': '*'}) for _ in range(2)]
        gate = threading.Barrier(2)
        results = [None, None]

        def write(n):
            gate.wait()
            try:
                writers[n].put_object(Bucket=BUCKET, Key=key, Body=b'writer-%d' % n)
                results[n] = 200
            except ClientError as e:
                results[n] = '%s %s' % (e.response['ResponseMetadata']['HTTPStatusCode'], e.response['Error'].get('Code'))

        threads = [threading.Thread(target=write, args=(n,)) for n in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stored = s3.get_object(Bucket=BUCKET, Key=key)['Body'].read().decode()
        out.append({'results': results, 'stored': stored})
    return out


def conditional(s3):
    first = s3.put_object(Bucket=BUCKET, Key='cond/k', Body=b'first')['ETag']
    out = {'first': first}
    out['ifNoneMatchExisting'] = failure(lambda: put_conditional({'If-None-Match': '*'}, 'cond/k', b'again'))
    out['ifMatchWrong'] = failure(lambda: put_conditional({'If-Match': '"0123456789abcdef0123456789abcdef"'}, 'cond/k', b'again'))
    out['ifMatchRight'] = put_conditional({'If-Match': first}, 'cond/k', b'second')['ETag']
    out['ifMatchMissing'] = failure(lambda: put_conditional({'If-Match': first}, 'cond/nothing-here', b'x'))
    out['ifNoneMatchNew'] = put_conditional({'If-None-Match': '*'}, 'cond/new', b'new')['ETag']
    out['stored'] = s3.get_object(Bucket=BUCKET, Key='cond/k')['Body'].read().decode()
    out['race'] = race(s3)
    return out


def listing(s3):
    for k in ('list/a', 'list/b', 'list/c'):
        s3.put_object(Bucket=BUCKET, Key=k, Body=k.encode())
    after = s3.list_objects_v2(Bucket=BUCKET, Prefix='list/', StartAfter='list/a')
    first = s3.list_objects_v2(Bucket=BUCKET, Prefix='list/', MaxKeys=1)
    token = first['NextContinuationToken']
    second = s3.list_objects_v2(Bucket=BUCKET, Prefix='list/', MaxKeys=1, ContinuationToken=token)
    keys = lambda r: [o['Key'] for o in r.get('Contents', [])]
    return {
        'startAfter': {'StartAfter': after.get('StartAfter'), 'Keys': keys(after), 'KeyCount': after['KeyCount'], 'IsTruncated': after['IsTruncated']},
        'firstPage': {'Keys': keys(first), 'IsTruncated': first['IsTruncated'], 'MaxKeys': first['MaxKeys']},
        'secondPage': {'Keys': keys(second), 'ContinuationTokenEchoed': second.get('ContinuationToken') == token, 'IsTruncated': second['IsTruncated']},
        'emptyToken': failure(lambda: s3.list_objects_v2(Bucket=BUCKET, Prefix='list/', ContinuationToken='')),
    }


def presign_in_python(expires):
    """A pre-signed GET from botocore's own SigV4 query signer: the CRT one boto3 picks when awscrt is
    installed asserts ExpiresIn > 0 before signing, so an X-Amz-Expires=0 URL only comes from this one."""
    req = AWSRequest(method='GET', url='%s/%s/presign/p.txt' % (ENDPOINT, BUCKET))
    creds = Credentials(os.environ['LOCAL_S3_ACCESS_KEY_ID'], os.environ['LOCAL_S3_SECRET_ACCESS_KEY'])
    S3SigV4QueryAuth(creds, 's3', 'us-east-1', expires=expires).add_auth(req)
    return req.url


def presigned(s3):
    s3.put_object(Bucket=BUCKET, Key='presign/p.txt', Body=b'pre-signed bytes')
    url = lambda expires: s3.generate_presigned_url('get_object', Params={'Bucket': BUCKET, 'Key': 'presign/p.txt'}, ExpiresIn=expires)
    try:
        url(0)
        sdk_zero = 'signed'
    except AssertionError:
        sdk_zero = 'AssertionError'  # awscrt's signer: expiration_in_seconds > 0
    return {'good': fetch(url(60)), 'week': fetch(url(604800)), 'weekAndASecond': fetch(url(604801)),
            'expiresParam': re.search(r'X-Amz-Expires=(\d+)', url(604801)).group(1), 'sdkZero': sdk_zero,
            'pythonSigner60': fetch(presign_in_python(60)), 'zero': fetch(presign_in_python(0)),
            'zeroParam': re.search(r'X-Amz-Expires=(\d+)', presign_in_python(0)).group(1)}


def anonymous():
    anon = client(signature_version=UNSIGNED)
    return {
        'get': failure(lambda: anon.get_object(Bucket=BUCKET, Key='presign/p.txt')),
        'put': failure(lambda: anon.put_object(Bucket=BUCKET, Key='anon/x', Body=b'x')),
        'list': failure(lambda: anon.list_objects_v2(Bucket=BUCKET)),
        'url': fetch('%s/%s/presign/p.txt' % (ENDPOINT, BUCKET)),
    }


def main():
    s3 = client()
    results = {'boto3': boto3.__version__}
    sections = {'multipart': lambda: multipart(s3), 'conditional': lambda: conditional(s3), 'listing': lambda: listing(s3),
                'presigned': lambda: presigned(s3), 'anonymous': anonymous}
    for name, run in sections.items():
        try:
            results[name] = run()
        except Exception:  # one section failing must not hide the others: the test shows the traceback
            results[name] = {'crashed': traceback.format_exc()}
    json.dump(results, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()

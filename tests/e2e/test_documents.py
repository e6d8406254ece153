"""Document intelligence in ``warroom dev`` (MOCK): a multi-page PDF goes up through the presigned POST, S3 -> SQS ->
``document_ingest`` processes it and ``document:processed`` reaches the uploader's socket; it is found by a reworded
question and by an exact phrase among other documents; deleted, it is gone from S3, the chunks and search."""

from __future__ import annotations

import asyncio
import json

import boto3
import httpx
import pytest
import websockets

from tests.document_samples import SAMPLE_DOCUMENTS
from tests.e2e.conftest import next_event

pytestmark = pytest.mark.e2e

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "markdown": "text/markdown",
    "text": "text/plain",
}


def _upload(client: httpx.Client, headers: dict, filename: str, data: bytes, kind: str) -> dict:
    announced = client.post(
        "/api/v1/documents/upload",
        json={"filename": filename, "content_type": CONTENT_TYPES[kind], "size": len(data)},
        headers=headers,
    )
    assert announced.status_code == 201, announced.text
    form = announced.json()["upload"]
    posted = httpx.post(form["url"], data=form["fields"], files={"file": (filename, data, CONTENT_TYPES[kind])})
    assert posted.status_code in (200, 204), posted.text
    return announced.json()["document"]


def test_a_pdf_is_uploaded_processed_found_and_deleted(local_cloud):
    token = local_cloud.admin_token()
    headers = {"Authorization": f"Bearer {token}"}
    client = local_cloud.client
    briefing, *others = SAMPLE_DOCUMENTS

    async def scenario() -> tuple[dict, dict]:
        url = local_cloud.base_url.replace("http://", "ws://") + f"/ws?token={token}"
        async with websockets.connect(url) as socket:
            await socket.send(json.dumps({"action": "ping"}))
            await next_event(socket, "pong")
            for sample in others:  # the other documents it must be found among
                await asyncio.to_thread(_upload, client, headers, sample.filename, sample.build(), sample.type)
            document = await asyncio.to_thread(
                _upload, client, headers, briefing.filename, briefing.build(), briefing.type
            )
            while True:  # the others' events may come first
                processed = await next_event(socket, "document:processed", timeout_s=60)
                if processed["data"]["id"] == document["id"]:
                    return document, processed

    document, processed = asyncio.run(scenario())
    assert processed["data"]["status"] == "processed" and processed["data"]["document_type"] == "pdf"
    assert processed["data"]["page_count"] == 8 and processed["data"]["chunk_count"] >= 3
    assert processed["data"]["title"] == briefing.title and processed["data"]["summary"]

    def search(query: str, mode: str) -> list[dict]:
        answer = client.post("/api/v1/documents/search", json={"query": query, "mode": mode}, headers=headers)
        assert answer.status_code == 200, answer.text
        return answer.json()["hits"]

    # by meaning: a question worded otherwise than the page (page 2 of the briefing book)
    by_meaning = search("how many rural hospitals have closed their doors since 2015?", "semantic")
    assert by_meaning[0]["document"]["id"] == document["id"] and by_meaning[0]["page_start"] <= 2
    # by an exact phrase
    by_words = search('"insulin copay cap of $35 per month"', "keyword")
    assert by_words and by_words[0]["document"]["id"] == document["id"] and "<<insulin>>" in by_words[0]["text"]

    runtime = local_cloud.runtime
    s3 = boto3.client(
        "s3",
        endpoint_url=runtime["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    bucket = runtime["env_by_function"]["DocumentsFunction"]["WARROOM_UPLOADS_BUCKET"]
    prefix = f"documents/{document['id']}/"
    assert s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["KeyCount"] == 1
    deleted = client.delete(f"/api/v1/documents/{document['id']}", headers=headers)
    assert deleted.status_code == 204
    assert s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["KeyCount"] == 0
    assert client.get(f"/api/v1/documents/{document['id']}", headers=headers).status_code == 404
    remaining = search('"insulin copay cap of $35 per month"', "keyword")
    assert document["id"] not in {hit["document"]["id"] for hit in remaining}

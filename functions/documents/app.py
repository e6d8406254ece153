"""Documents: uploads (presigned S3 POST), the library, downloads, deletion and search by meaning and by words."""

from __future__ import annotations

from warroom.auth.guard import authenticate_request
from warroom.core.http import RequestContext, WarRoomApp
from warroom.core.pagination import Page
from warroom.documents import library
from warroom.documents.models import (
    DocumentListQuery,
    DocumentOut,
    DownloadOut,
    SearchOut,
    SearchRequest,
    UploadOut,
    UploadRequest,
)
from warroom.documents.search import search

app = WarRoomApp("documents", authenticate=authenticate_request)


@app.endpoint(
    "POST",
    "/api/v1/documents/upload",
    role="user",
    body=UploadRequest,
    response=UploadOut,
    status_code=201,
    errors=(413, 415),
    max_body_bytes=6_291_456,  # Lambda's synchronous payload limit: an inline file of up to 4.5 MB, base64
)
def upload(body: UploadRequest, ctx: RequestContext) -> UploadOut:
    """Announce an upload: the document is `pending` and the answer is a presigned S3 POST for its file.

    Send the file as `multipart/form-data` to `upload.url` with every `upload.fields` entry and then `file`; the
    policy enforces the content type and at most `document_max_bytes` (413 here when `size` is over it). When it
    arrives it is processed (text, chunks, embeddings, summary) and `document:processed` is broadcast. PDF, DOCX,
    Markdown and plain text; the real type is read from the bytes. `shared` lets everyone with read access see it.

    Or send a file of up to `document_inline_max_bytes` (4 MiB) in the body as `content_base64`: it is checked now
    (its size, 413 over the limit; its type from its bytes, 415 when it is not what `content_type` says), stored by
    the function, and processed the same way; `upload` is then null.
    """
    return library.announce_upload(body, ctx.principal, ctx.actor())


@app.endpoint("GET", "/api/v1/documents", role="readonly", query=DocumentListQuery, response=Page[DocumentOut])
def list_documents(query: DocumentListQuery, ctx: RequestContext) -> Page[DocumentOut]:
    """Documents you may see (yours, shared ones; managers and admins: all), newest first; filters: status,
    uploader, type, `q` (title or file name), upload time."""
    return library.list_documents(query, ctx.principal)


@app.endpoint("POST", "/api/v1/documents/search", role="readonly", body=SearchRequest, response=SearchOut)
def search_documents(body: SearchRequest, ctx: RequestContext) -> SearchOut:
    """Search the chunks of the documents you may see: `semantic` (by meaning), `keyword` (by words) or `hybrid`
    (both, fused by reciprocal rank; the default). `limit` <= 50; filters: document ids, type, uploader, time.
    Each hit: the document, the chunk with matched terms marked, its pages, its ranks and score. Falls back to
    keyword search (saying so in `fallback`) when the query cannot be embedded."""
    return search(body, ctx.principal)


@app.endpoint("GET", "/api/v1/documents/{document_id}", role="readonly", response=DocumentOut, errors=(404,))
def get_document(document_id: str, ctx: RequestContext) -> DocumentOut:
    """One document: status, pages, chunk count, summary, and the reason when processing failed."""
    return library.get_document(document_id, ctx.principal)


@app.endpoint("GET", "/api/v1/documents/{document_id}/download", role="readonly", response=DownloadOut, errors=(404,))
def download(document_id: str, ctx: RequestContext) -> DownloadOut:
    """A presigned GET (5 minutes) that downloads the file under its own name."""
    return library.download_url(document_id, ctx.principal)


@app.endpoint("DELETE", "/api/v1/documents/{document_id}", role="user", status_code=204, errors=(403, 404))
def delete_document(document_id: str, ctx: RequestContext) -> None:
    """Delete the file, its chunks and the row (its uploader or an admin: 403 for others); audited."""
    library.delete_document(document_id, ctx.principal, ctx.actor())

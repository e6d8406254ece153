"""Intelligence Hub: AI analysis of text or stored mentions, and the daily brief (see ``warroom.intelligence``)."""

from __future__ import annotations

from warroom.auth.guard import authenticate_request
from warroom.core.http import RequestContext, WarRoomApp
from warroom.core.security import require
from warroom.intelligence.analysis import analyze
from warroom.intelligence.briefing import generate_brief_now, latest_brief
from warroom.intelligence.models import AnalysisOut, AnalyzeBody, BriefingOut, BriefingQuery

app = WarRoomApp("intelligence", authenticate=authenticate_request)


@app.endpoint(
    "POST", "/api/v1/intelligence/analyze", role="user", body=AnalyzeBody, response=AnalysisOut, errors=(404, 503)
)
def post_analyze(body: AnalyzeBody, ctx: RequestContext) -> AnalysisOut:
    """Sentiment, themes, entities, risk and a suggested response for a text and/or stored mentions (user).

    MOCK answers from local rules, LIVE from OpenAI; identical requests are answered from the cache for an
    hour (``cached: true``). 404 names unknown mention ids; 503 names the cause when OpenAI cannot answer.
    """
    return analyze(body, user_id=ctx.principal.user_id if ctx.principal else None)


@app.endpoint(
    "GET",
    "/api/v1/intelligence/briefing",
    role="readonly",
    query=BriefingQuery,
    response=BriefingOut,
    errors=(404,),
)
def get_briefing(query: BriefingQuery, ctx: RequestContext) -> BriefingOut:
    """The latest daily brief; with ``generate=true`` (manager) today's brief, built now.

    404 while no brief exists. Generating rebuilds today's brief in place (one per campaign day) and is audited.
    """
    if query.generate and ctx.principal is not None:
        require(ctx.principal, "manager")
        return generate_brief_now(ctx.actor())
    return latest_brief()

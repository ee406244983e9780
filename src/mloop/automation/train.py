"""A job's first two steps: run the policy's pipeline and register its model, then
judge the candidate at the gate (data validation, then evaluation against the champion)."""

from __future__ import annotations

from typing import Any

from mloop.automation.context import Context, Decision
from mloop.data.client import DataClient
from mloop.errors import InvalidArgument, MloopError, NotFound
from mloop.pipelines import PipelineFailed, PipelineResult, load_pipeline
from mloop.registry import Registry
from mloop.store import Job, JobState, ModelVersion, StepStatus

POLICY_TAG = "mloop.policy"
JOB_TAG = "mloop.job"


def train(ctx: Context, job: Job, data: dict[str, Any]) -> Decision:
    """Run the pipeline (finished steps of an interrupted attempt come from the cache)
    and register what it returned as the next version of the policy's model."""
    policy = ctx.policy
    registry = Registry(ctx.client, ctx.project)
    version = _registered(registry, policy.model, job.id)
    if version is None:
        try:
            result = load_pipeline(policy.pipeline).run(
                data["params"], client=ctx.client, project=ctx.project
            )
        except PipelineFailed as exc:
            data["pipeline_run"] = exc.run_id
            return _failed(
                ctx,
                data,
                f"pipeline {policy.pipeline} failed at step {exc.node}: {_cause(exc)} "
                f"(`mloop pipeline show {exc.run_id[:12]}` has the traceback)",
            )
        except MloopError as exc:
            return _failed(ctx, data, f"pipeline {policy.pipeline} could not run: {exc}")
        source = _model_source(ctx, result)
        if source is None:
            return _failed(
                ctx,
                data,
                f"pipeline {policy.pipeline} returned {_returned(result)}, not a model: "
                "return the output of the step that trains it",
            )
        data["pipeline_run"] = result.run.id
        same = _same_as_champion(ctx, result)
        if same is not None:
            message = (
                f"pipeline run {result.run.id[:12]} made {same}'s package again, byte for "
                "byte: nothing new to roll out"
            )
            return Decision(JobState.UNCHANGED, data, [ctx.event("unchanged", message)])
        version = registry.register(
            source, policy.model, tags={POLICY_TAG: policy.name, JOB_TAG: str(job.id)}
        )
    data["candidate"] = version.uri
    message = f"trained {version.uri}" + (
        f" with pipeline run {data['pipeline_run'][:12]}" if "pipeline_run" in data else ""
    )
    return Decision(JobState.TRAINED, data, [ctx.event("trained", message, candidate=version.uri)])


def gate(ctx: Context, data: dict[str, Any]) -> Decision:
    """Validate the gate's data, then evaluate the candidate against the champion."""
    from mloop.evaluation.record import evaluate

    spec = ctx.policy.gate
    champion = ctx.champion()
    data["champion"] = champion
    baseline = champion or serving_uri(ctx)  # without a champion: what the deployment serves
    if spec is None:
        event = ctx.event("gate_passed", "no gate declared: the candidate goes on")
        return Decision(JobState.GATED, data, [event])
    version = data["gate_data"]
    problems = _validate(ctx, version) if spec.validate else []
    if problems:
        reason = f"data {version} failed validation: " + "; ".join(problems[:3])
        return Decision(JobState.GATED_OUT, data, [ctx.event("gated_out", reason, data=version)])
    try:
        result = evaluate(
            data["candidate"],
            version,
            target=spec.target,
            task=spec.task,
            baseline=baseline,
            sensitive=spec.sensitive,
            gates=list(spec.rules) or None,
            importance=False,
            client=ctx.client,
        )
    except MloopError as exc:
        return _failed(ctx, data, f"the gate could not evaluate {data['candidate']}: {exc}")
    data["evaluation"] = result.record.id
    against = f" against {baseline}" if baseline else " (nothing to compare with)"
    head = f"{data['candidate']} on {version}{against}"
    summary = f"{head}: {result.summary()}"
    details = {"evaluation": result.record.id, "reasons": result.reasons}
    if not result.passed:
        reasons = "; ".join(result.reasons) or "a gate failed"
        event = ctx.event("gated_out", f"{head}: {reasons}", **details)
        return Decision(JobState.GATED_OUT, data, [event])
    return Decision(JobState.GATED, data, [ctx.event("gate_passed", summary, **details)])


def serving_uri(ctx: Context) -> str | None:
    """The version the deployment's first answering route serves now."""
    from mloop.models.refs import resolve_version

    revision = ctx.client.store.deployments.get(ctx.policy.deployment, ctx.project).revision
    try:
        return resolve_version(ctx.client.store, revision.primary[0].model, ctx.project).uri
    except (NotFound, InvalidArgument):
        return None


def _validate(ctx: Context, version: str) -> list[str]:
    data = DataClient(ctx.client)
    try:
        if data.schema(data.version(version).dataset) is None:
            return []  # nothing declared to check against
        report = data.validate(version)
    finally:
        data.close()
    return [anomaly.message for anomaly in report.errors]


def _registered(registry: Registry, model: str, job_id: int) -> ModelVersion | None:
    """The version an interrupted attempt of this job registered already."""
    try:
        versions = registry.versions(model)
    except NotFound:
        return None
    return next((v for v in versions if v.tags.get(JOB_TAG) == str(job_id)), None)


def _cause(exc: PipelineFailed) -> str:
    """The last line of the failing step's error (its traceback is in the pipeline run)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return next((line for line in reversed(lines) if not line.startswith("Resume")), "")


def _same_as_champion(ctx: Context, result: PipelineResult) -> str | None:
    """The champion's URI when the pipeline made exactly its package."""
    champion = ctx.champion()
    if champion is None:
        return None
    package = Registry(ctx.client, ctx.project).version(champion).package
    digest = result.outputs[_output_node(result)]["digest"]
    return champion if package == digest else None


def _returned(result: PipelineResult) -> str:
    node = _output_node(result)
    if node:
        return f"the {result.outputs[node]['kind']} output of step {node}"
    return f"a {type(result.graph.output).__name__} (not one step's output)"


def _output_node(result: PipelineResult) -> str:
    output = result.graph.output
    return str(getattr(output, "node", ""))


def _model_source(ctx: Context, result: PipelineResult) -> str | None:
    node = _output_node(result)
    if result.outputs.get(node, {}).get("kind") != "model":
        return None
    step = next(s for s in result.steps if s.node == node)
    run_id = step.run_id
    if step.status is StepStatus.REUSED:
        original = ctx.client.store.pipelines.cached(step.cache_key)
        run_id = original.run_id if original is not None else None
    return None if run_id is None else f"runs:/{run_id}/output"


def _failed(ctx: Context, data: dict[str, Any], reason: str) -> Decision:
    return Decision(JobState.FAILED, data, [ctx.event("failed", reason)])

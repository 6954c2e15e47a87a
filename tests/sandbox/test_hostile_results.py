"""Results built to cost the trusted side (hash floods, deep nesting, huge values, self-reference) through
locked-down kernels: each gets its verdict, none is accepted, and the judging event loop is never held long.
The loop's lag is measured by ``benchmarks/result_budget.py``; here it is only reported."""

from __future__ import annotations

import pytest
import pytest_asyncio
from hostile_results import check_hostile_results

from jupyter_duel_server.judge import Judge

from .conftest import TEST_CONFIG, requires_sandbox

pytestmark = [requires_sandbox, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(300)]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def kernel_judge(sandbox_host):
    from jupyter_duel_server.sandbox.runner import KernelSandboxRunner

    judge = Judge(runner=KernelSandboxRunner(pool_size=2, config=TEST_CONFIG))
    yield judge
    await judge.close()


async def test_hostile_results_in_the_sandbox(kernel_judge):
    lags = await check_hostile_results(kernel_judge)
    print("worst event-loop lag per kind (ms):", {k: round(v, 1) for k, v in lags.items()})

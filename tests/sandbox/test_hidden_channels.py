"""A submission learns nothing of hidden tests but their verdicts: the checks of ``hidden_channel_checks``
through locked-down kernels."""

from __future__ import annotations

import pytest
import pytest_asyncio
from hidden_channel_checks import (
    check_hidden_failures_show_verdict_number_and_time_only,
    check_inputs_arrive_one_test_at_a_time,
    check_sample_messages_are_capped,
)

from jupyter_duel_server.judge import Judge

from .conftest import TEST_CONFIG, requires_sandbox

pytestmark = [requires_sandbox, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(180)]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def kernel_judge(sandbox_host):
    from jupyter_duel_server.sandbox.runner import KernelSandboxRunner

    judge = Judge(runner=KernelSandboxRunner(pool_size=2, config=TEST_CONFIG), enforce_import_policy=False)
    yield judge
    await judge.close()


async def test_hidden_failures_show_verdict_number_and_time_only(kernel_judge):
    await check_hidden_failures_show_verdict_number_and_time_only(kernel_judge)


async def test_inputs_arrive_one_test_at_a_time(kernel_judge):
    await check_inputs_arrive_one_test_at_a_time(kernel_judge)


async def test_sample_messages_are_capped(kernel_judge):
    await check_sample_messages_are_capped(kernel_judge)

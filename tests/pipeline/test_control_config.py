"""The main job's control differs from it only in where the challenge + train time goes: more
warm-up SFT (on a demo pool grown with it), then the same held-out evaluation."""

from configs import smollm2_cpu, smollm2_cpu_control


def test_control_spends_the_measured_time_on_warm_up_and_changes_nothing_else():
  main, control = smollm2_cpu.get_config(), smollm2_cpu_control.get_config()
  extra = control.bootstrap.steps - main.bootstrap.steps
  seconds = extra * smollm2_cpu_control.SFT_STEP_SECONDS
  assert abs(seconds - smollm2_cpu_control.CONTROL_EXTRA_SECONDS) <= (
      smollm2_cpu_control.SFT_STEP_SECONDS)
  # The demo pool grows at least as much as the steps.
  for key in ("executor_demos_per_family", "challenger_demos_per_family"):
    assert control.bootstrap[key] * main.bootstrap.steps >= main.bootstrap[key] * control.bootstrap.steps
  assert control.phases.split(",") == ["bootstrap", "eval_after", "report"]
  a, b = main.to_dict(), control.to_dict()
  for c in (a, b):
    del c["phases"]
    for key in ("steps", "executor_demos_per_family", "challenger_demos_per_family"):
      del c["bootstrap"][key]
  assert a == b

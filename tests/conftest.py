"""Test set-up: fake 4 CPU devices (before JAX starts) so sharded code paths run everywhere, and
one persistent compilation cache for the session."""

import atexit
import os
import shutil
import sys
import tempfile

# (once: the pytest-xdist workers inherit the controller's environment, this file already run)
_FOUR = '--xla_force_host_platform_device_count=4'
if _FOUR not in os.environ.get('XLA_FLAGS', '').split():
  os.environ['XLA_FLAGS'] = (os.environ.get('XLA_FLAGS', '') + ' ' + _FOUR).strip()
os.environ.setdefault('JAX_PLATFORMS', 'cpu')

# The end-to-end tests build the same smoke programs again and again, in this process and in the
# jobs they launch as subprocesses (which inherit these variables): JAX's persistent compilation
# cache, in a directory of this session's own (removed at exit), compiles each once. Its key
# holds the program, the XLA flags, the devices and the JAX version, so a hit is the executable a
# compilation would have built. A cache the caller names (JAX_COMPILATION_CACHE_DIR) is used as
# it is and kept. Under pytest-xdist (`-n 2`) the controller runs this file first and its workers
# inherit the variable, so they share the controller's cache, which it removes at exit. JAX writes
# an entry without a lock: a process that reads one half written fails to decompress it, warns
# and compiles (jax/_src/compiler.py _cache_read), so a race costs a compilation, never a result.
if 'JAX_COMPILATION_CACHE_DIR' not in os.environ:
  _CACHE_DIR = tempfile.mkdtemp(prefix='liverjax-tests-xla-cache-')
  os.environ['JAX_COMPILATION_CACHE_DIR'] = _CACHE_DIR
  atexit.register(shutil.rmtree, _CACHE_DIR, True)
os.environ.setdefault('JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS', '0')

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


# The full tier: tests that take more than a few seconds on a 2-core CPU (end-to-end jobs, GAN
# training, several processes, a browser), marked `full` so that the fast tier,
# `pytest -m "not slow and not full"`, runs in minutes while still covering every step, metric
# and data reader with tiny inputs. Entries are test files, test functions or single parameter
# sets (file::function[id]); CI runs both tiers (`pytest`).
FULL_TIER = frozenset([
    'test_estimate.py::test_the_plan_counts_what_is_left_and_the_estimate_times_each_kind_of_step',
    'test_estimate.py::test_the_gan_job_logs_its_plan_and_estimate_before_training',
    'test_benchmark_design.py::test_parts_merge_into_the_result_of_one_workdir_and_odd_parts_are_refused',
    'test_inference.py::test_replicates_paired_t_covers_and_has_the_power_the_mde_formula_gives',
    'test_ceiling.py::test_the_ceiling_learns_an_easy_phantom_and_is_reported',
    'test_crash.py::test_sigkill_and_resume_classic_smoke',
    'test_curve.py::test_learning_curve_runs_each_share_on_fewer_patients_and_reports',
    'test_data_efficient.py::test_ada_raises_its_probability_on_a_discriminator_that_overfits',
    'test_diffusion.py::test_a_sample_is_a_function_of_its_key',
    'test_diffusion.py::test_step_lowers_the_loss_and_moves_the_ema_towards_the_weights',
    'test_diffusion.py::test_step_on_four_devices_equals_one',
    'test_diffusion.py::test_the_diffusion_job_writes_what_the_gan_jobs_write',
    'test_data_efficient.py::test_data_efficient_arm_beside_the_papers_gan_smoke',
    'test_data_efficient.py::test_options_off_leave_the_papers_step_as_it_was',
    'test_data_efficient.py::test_r1_is_a_per_image_gradient_penalty_that_descends',
    'test_experiment.py::test_acgan_arm_end_to_end',
    'test_experiment.py::test_an_easy_problem_is_learned_well_above_chance',
    'test_experiment.py::test_dcgan_aug_smoke_gans_never_see_test_images',
    'test_experiment.py::test_launch_smoke_end_to_end_and_config_guard',
    'test_experiment.py::test_nothing_recompiles_after_the_first_run_of_a_shape',
    'test_experiment.py::test_online_classic_augmentation_changes_training',
    'test_experiment.py::test_oracle_arm_adds_fresh_phantom_rois',
    'test_experiment.py::test_vmapped_folds_equal_fold_by_fold_and_resume',
    'test_gan.py::test_a_diverging_gan_job_stops_with_one_line_and_exit_2',
    'test_gan.py::test_bfloat16_matmuls_step_close_to_float32',
    'test_gan.py::test_checkpoint_round_trip_reproduces_samples',
    'test_gan.py::test_class_fidelity_counts_samples_assigned_to_their_class',
    'test_gan.py::test_discriminator_steps_lower_its_loss_on_a_fixed_batch',
    'test_gan.py::test_ema_generator_averages_weights_without_changing_training',
    'test_gan.py::test_gan_four_devices_equal_one',
    'test_gan.py::test_gan_four_devices_equal_one_with_sgd_for_most_batches',
    'test_gan.py::test_launch_gan_smoke_end_to_end',
    'test_gan.py::test_nan_loss_stops_training_and_keeps_last_good_checkpoint',
    'test_gan.py::test_progress_total_is_the_steps_the_gans_take',
    'test_gan.py::test_standing_stats_are_the_batch_statistics_of_fresh_samples',
    'test_layers.py::test_bfloat16_matmuls_round_operands_and_sum_in_float32[conv-1-4-3-1]',
    'test_layers.py::test_bfloat16_matmuls_round_operands_and_sum_in_float32[conv-3-5-3-1]',
    'test_layers.py::test_bfloat16_matmuls_round_operands_and_sum_in_float32[conv-4-6-5-2]',
    'test_layers.py::test_bfloat16_matmuls_round_operands_and_sum_in_float32[transpose-3-5-5-2]',
    'test_layers.py::test_conv_equals_flax_conv[16-5-7-5-1-patches]',
    'test_layers.py::test_conv_gradients_equal_flax_conv[1-5-2-hw2-patches]',
    'test_layers.py::test_conv_gradients_equal_flax_conv[2-4-2-hw3-patches]',
    'test_layers.py::test_conv_gradients_equal_flax_conv[2-5-2-hw6-patches]',
    'test_layers.py::test_conv_gradients_equal_flax_conv[3-3-1-hw0-patches]',
    'test_layers.py::test_conv_gradients_equal_flax_conv[3-5-2-hw4-patches]',
    'test_lits.py::test_lits_tumour_vs_liver_classifier_and_gans',
    'test_lits.py::test_realism_of_the_phantom_against_real_liver',
    'test_models.py::test_classifier_on_data_same_function_and_parameter_gradients',
    'test_multihost.py::test_two_processes_equal_one_process',
    'test_quality.py::test_a_gan_job_on_a_fold_is_judged_against_that_folds_test_rois',
    'test_quality.py::test_a_generator_that_samples_the_data_scores_like_new_real_rois',
    'test_quality.py::test_copies_of_training_rois_are_flagged_as_memorised',
    'test_quality.py::test_every_pool_is_judged_beside_real_data_in_an_experiment',
    'test_realism.py::test_a_classifier_tells_textures_apart_only_when_they_differ',
    'test_report.py::test_report_is_rebuilt_from_the_workdir_alone',
    'test_tstr.py::test_tstr_smoke_end_to_end',
    'test_turing_browser.py',
    'test_layers.py::test_conv_equals_flax_conv[8-4-6-4-1-patches]',
    'test_layers.py::test_conv_equals_flax_conv[32-3-4-5-2-patches]',
    'test_layers.py::test_conv_gradients_equal_flax_conv[2-3-2-hw5-patches]',
    'test_layers.py::test_max_pool_equals_flax_max_pool[shape1]',
    'test_layers.py::test_conv_on_data_equals_flax_conv[5-2-patches]',
    'test_train.py::test_four_devices_equal_one_device',
    'test_gan.py::test_conv_transpose_equals_flax[patches-8-6-1-5-2]',
    'test_gan.py::test_conv_transpose_equals_flax[patches-6-5-2-4-2]',
    'test_models.py::test_classifier_any_number_of_classes',
    'test_data_efficient.py::test_r1_from_the_losss_forward_pass_equals_a_second_pass',
    'test_data_efficient.py::test_papers_step_draws_what_it_drew_before_the_options',
    'test_experiment.py::test_runs_that_never_fit_their_training_set_are_counted',
    'test_experiment.py::test_interrupted_run_resumes_from_checkpoint_to_identical_result',
    'test_data_efficient.py::test_upsample_conv_equals_upsampling_then_flax_conv[patches-4-8-6-5]',
    'test_data_efficient.py::test_upsample_conv_equals_upsampling_then_flax_conv[patches-6-16-1-5]',
    'test_data_efficient.py::test_upsample_conv_equals_upsampling_then_flax_conv[patches-7-3-4-5]',
    'test_gan.py::test_acgan_shapes',
    'test_benchmarks.py::test_each_kind_of_entry_times_at_tiny_widths',
    'test_benchmarks.py::test_the_command_runs_on_jax_alone',
    'test_benchmarks.py::test_each_entrys_pytorch_twin_runs_at_tiny_widths',
    'test_gan.py::test_gan_step_pure_and_compiled_once[acgan]',   # [dcgan] stays in the fast tier
    'test_lock.py::test_a_second_writer_is_refused_and_a_killed_one_blocks_nothing',
    'test_data_efficient.py::test_resize_generator_has_the_transposed_ones_parameters_and_shapes',
    'test_experiment.py::test_a_generator_built_to_collapse_is_flagged',
    'test_profile_tool.py::test_a_tiny_classifier_step_is_profiled_per_layer',
])


def pytest_configure(config):
  config.addinivalue_line('markers', 'slow: minutes-long; skipped by default (run with -m slow)')
  config.addinivalue_line('markers', 'full: seconds to minutes; left out of the fast tier '
                          '(pytest -m "not slow and not full")')


def pytest_collection_modifyitems(config, items):
  """Marks the FULL_TIER tests `full`; warns of an entry that names no collected test (when
  whole files were collected: not with `file::test` or -k)."""
  seen = set()
  for item in items:
    nodeid = item.nodeid.removeprefix('tests/')
    for key in (nodeid, nodeid.split('[')[0], nodeid.split('::')[0]):
      if key in FULL_TIER:
        item.add_marker('full')
        seen.add(key)
  files = {item.nodeid.removeprefix('tests/').split('::')[0] for item in items}
  stale = sorted(k for k in FULL_TIER - seen if k.split('::')[0] in files and '[' not in k)
  if stale and not config.option.keyword and not any('::' in a for a in config.args):
    import warnings
    warnings.warn(f'conftest.FULL_TIER names no collected test: {stale}')

# ruff: noqa: E501  (the tables keep one key per line, however long its test name)
"""Every config key does what it says or is rejected (issue #10, item 4).

``KEY_EFFECTS`` names, for each field of each config model in ``petri.configs``, the test that
shows its effect: the test sets the key (or the Python argument it feeds) and asserts behaviour
that depends on it. A key that is refused names the test of its message as ``rejected: ...``.
A new field fails ``test_every_field_has_an_entry`` until its row is added, and a row whose
test is gone fails ``test_every_entry_names_an_existing_test``.

``CONDITIONS`` adds rows for a key refused in one situation or honoured by a second consumer
(in brackets: ``RunConfig.device [Agent]``). ``PENDING`` would list keys accepted and ignored
(each with the test expected to show the fix); it is empty, and a row there is skipped with the
list so nobody mistakes it for covered.
"""

from __future__ import annotations

import ast
import inspect
from functools import cache
from pathlib import Path

import pytest

import petri.configs
from petri.configs import BaseConfig

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent

_RL = "tests/rl/test_rl_config_effects.py"
_MODEL = "tests/models/test_model_config_effects.py"
_OPT = "tests/test_optimizer_config_effects.py"
_RUN = "tests/estimators/test_run_config_effects.py"
_XP = "tests/experiments/test_experiment_config_effects.py"
_WIRING = (
    "tests/tracking/test_experiment_wiring.py::test_create_experiment_records_a_versioned_run"
)
_PIPES = "tests/data/test_pipelines.py"
_OPT_KEY = f"{_OPT}::test_each_optimizer_key_reaches_the_torch_optimizer"
_DECAY_KEY = f"{_OPT}::test_each_schedule_key_changes_the_learning_rate_curve"

_REJ = "tests/configs/test_rejected_keys.py"
_AGENT = "tests/rl/test_agent_run_config.py"

KEY_EFFECTS: dict[str, str] = {
    # AgentConfig
    "AgentConfig.memory_config": f"{_RL}::test_memory_config_keys_build_the_replay_memory",
    "AgentConfig.module": f"{_RL}::test_module_keys_select_environment_agent_memory_model_and_exploration",
    "AgentConfig.output_dir": f"{_RL}::test_agent_config_output_dir_holds_the_checkpoints",
    # CompileConfig
    "BridgeConfig.module": "tests/models/test_generator.py::test_a_vae_improves_its_elbo_at_every_evaluation_and_samples",
    "BridgeConfig.name": "tests/models/test_generator.py::test_bridge_config_name_selects_the_bridge_too",
    "CompileConfig.mode": "tests/estimators/test_precision_and_compile.py::test_compile_options_reach_torch_compile",
    "CompileConfig.fullgraph": "tests/estimators/test_precision_and_compile.py::test_fullgraph_refuses_a_graph_break_and_falls_back",
    "CompileConfig.dynamic": "tests/estimators/test_precision_and_compile.py::test_compile_options_reach_torch_compile",
    "CompileConfig.backend": "tests/estimators/test_precision_and_compile.py::test_a_failing_compile_falls_back_to_eager_with_one_message",
    # DistributedConfig
    "DistributedConfig.backend": "tests/distributed/test_ddp.py::test_distributed_backend_is_chosen_and_nccl_needs_cuda",
    "DistributedConfig.timeout_s": "tests/distributed/test_ddp.py::test_distributed_timeout_fails_a_collective_that_waits_for_a_silent_rank",
    # EnvironmentConfig
    "EnvironmentConfig.env_id": f"{_RL}::test_module_keys_select_environment_agent_memory_model_and_exploration",
    "EnvironmentConfig.module": f"{_RL}::test_module_keys_select_environment_agent_memory_model_and_exploration",
    "EnvironmentConfig.num_envs": f"{_RL}::test_environment_config_keys_reach_the_environment",
    "EnvironmentConfig.params": f"{_RL}::test_environment_config_keys_reach_the_environment",
    "EnvironmentConfig.render_mode": f"{_RL}::test_environment_config_keys_reach_the_environment",
    "EnvironmentConfig.seed": f"{_RL}::test_environment_config_keys_reach_the_environment",
    "EnvironmentConfig.video_dir": f"{_RL}::test_environment_config_keys_reach_the_environment",
    # EstimatorConfig
    "EstimatorConfig.module": f"{_XP}::test_estimator_config_module_and_output_dir",
    "EstimatorConfig.output_dir": f"{_XP}::test_estimator_config_module_and_output_dir",
    "EstimatorConfig.params": "rejected: tests/configs/test_configs.py::test_more_bad_configs",
    # ExperimentConfig
    "ExperimentConfig.continuous_eval_throttle_secs": f"{_XP}::test_eval_delay_secs_and_continuous_eval_throttle_secs",
    "ExperimentConfig.delay_workers_by_global_step": f"rejected: {_REJ}::test_delay_workers_true_is_rejected_false_accepted",
    "ExperimentConfig.estimator_config": f"{_XP}::test_estimator_config_module_and_output_dir",
    "ExperimentConfig.eval_delay_secs": f"{_XP}::test_eval_delay_secs_and_continuous_eval_throttle_secs",
    "ExperimentConfig.eval_every_n_steps": "tests/experiments/test_experiment.py::test_experiment_from_python_objects",
    "ExperimentConfig.eval_hooks_config": f"{_XP}::test_hook_configs_and_eval_steps",
    "ExperimentConfig.eval_input_data_config": _WIRING,
    "ExperimentConfig.eval_steps": f"{_XP}::test_hook_configs_and_eval_steps",
    "ExperimentConfig.export_strategies": "tests/test_export.py::test_export_strategies_from_a_config_keep_the_newest",
    "ExperimentConfig.model_config_": _WIRING,
    "ExperimentConfig.name": _WIRING,
    "ExperimentConfig.output_dir": _WIRING,
    "ExperimentConfig.run_config": _WIRING,
    "ExperimentConfig.schedule": f"{_XP}::test_schedule_selects_what_petri_run_does",
    "ExperimentConfig.train_hooks_config": f"{_XP}::test_hook_configs_and_eval_steps",
    "ExperimentConfig.train_input_data_config": _WIRING,
    "ExperimentConfig.train_steps": _WIRING,
    "ExperimentConfig.train_steps_per_iteration": "tests/experiments/test_experiment.py::test_experiment_from_python_objects",
    "ExperimentConfig.version": _WIRING,
    # ExplorationConfig
    "ExplorationConfig.module": f"{_RL}::test_module_keys_select_environment_agent_memory_model_and_exploration",
    "ExplorationConfig.name": f"{_RL}::test_module_keys_select_environment_agent_memory_model_and_exploration",
    # ExportStrategyConfig
    "ExportStrategyConfig.as_text": "tests/test_export.py::test_export_serves_the_estimators_predictions",
    "ExportStrategyConfig.assets_extra": "tests/test_export.py::test_export_serves_the_estimators_predictions",
    "ExportStrategyConfig.exports_to_keep": "tests/test_export.py::test_export_strategies_from_a_config_keep_the_newest",
    "ExportStrategyConfig.name": "tests/test_export.py::test_export_strategies_from_a_config_keep_the_newest",
    # GraphConfig
    "GraphConfig.definition": f"{_MODEL}::test_graph_config_name_features_and_definition",
    "GraphConfig.features": f"{_MODEL}::test_graph_config_name_features_and_definition",
    "GraphConfig.name": f"{_MODEL}::test_graph_config_name_features_and_definition",
    # HookConfig
    "HookConfig.module": f"{_XP}::test_hook_configs_and_eval_steps",
    "HookConfig.params": f"{_XP}::test_hook_configs_and_eval_steps",
    # InputDataConfig
    "InputDataConfig.categorical": "tests/data/test_pandas_input.py::test_csv_and_parquet_files_with_a_one_hot_column",
    "InputDataConfig.input_type": "tests/data/test_input_config_effects.py::test_input_type_dataset_reads_a_builtin_split",
    "InputDataConfig.pipeline_config": f"{_PIPES}::test_create_input_fn_accepts_configs",
    "InputDataConfig.x": f"{_PIPES}::test_numpy_pipeline_matches_arrays",
    "InputDataConfig.x_columns": "tests/data/test_pandas_input.py::test_csv_and_parquet_files_with_a_one_hot_column",
    "InputDataConfig.y": f"{_PIPES}::test_numpy_pipeline_matches_arrays",
    "InputDataConfig.y_column": "tests/data/test_pandas_input.py::test_a_dataframe_trains_a_classifier_from_python",
    # LossConfig
    "LossConfig.module": f"{_MODEL}::test_loss_config_selects_the_loss_and_its_arguments",
    "LossConfig.name": f"{_MODEL}::test_loss_config_selects_the_loss_and_its_arguments",
    # MemoryConfig
    "MemoryConfig.alpha": f"{_RL}::test_memory_config_keys_build_the_replay_memory",
    "MemoryConfig.batch_size": f"{_RL}::test_memory_config_keys_build_the_replay_memory",
    "MemoryConfig.beta": f"{_RL}::test_memory_config_keys_build_the_replay_memory",
    "MemoryConfig.beta_final": f"{_RL}::test_memory_config_keys_build_the_replay_memory",
    "MemoryConfig.beta_steps": f"{_RL}::test_memory_config_keys_build_the_replay_memory",
    "MemoryConfig.epsilon": f"{_RL}::test_memory_config_keys_build_the_replay_memory",
    "MemoryConfig.module": f"{_RL}::test_memory_config_keys_build_the_replay_memory",
    "MemoryConfig.save_contents": f"{_RL}::test_memory_save_contents_decides_whether_checkpoints_hold_transitions",
    "MemoryConfig.size": f"{_RL}::test_memory_config_keys_build_the_replay_memory",
    # MetricConfig
    "MetricConfig.module": "tests/experiments/test_experiment.py::test_seed_002_json_with_numpy_data",
    "MetricConfig.name": _WIRING,
    # ModelConfig
    "ModelConfig.encoder_config": "tests/models/test_generator.py::test_a_dense_autoencoder_reconstructs_the_digits",
    "ModelConfig.decoder_config": "tests/models/test_generator.py::test_a_dense_autoencoder_reconstructs_the_digits",
    "ModelConfig.bridge_config": "tests/models/test_generator.py::test_a_vae_improves_its_elbo_at_every_evaluation_and_samples",
    "ModelConfig.clip_embed_gradients": "tests/estimators/test_embedding_clip.py::test_embedding_gradients_are_clipped_to_the_norm",
    "ModelConfig.clip_gradients": f"{_MODEL}::test_clip_gradients_bounds_each_update",
    "ModelConfig.eval_metrics_config": _WIRING,
    "ModelConfig.graph_config": f"{_MODEL}::test_graph_config_name_features_and_definition",
    "ModelConfig.loss_config": f"{_MODEL}::test_loss_config_selects_the_loss_and_its_arguments",
    "ModelConfig.module": f"{_MODEL}::test_module_selects_classifier_or_regressor",
    "ModelConfig.n_classes": f"{_MODEL}::test_n_classes_reaches_the_metrics",
    "ModelConfig.one_hot_encode": f"{_MODEL}::test_one_hot_encode_feeds_the_loss_one_hot_labels",
    "ModelConfig.optimizer_config": f"{_MODEL}::test_optimizer_config_builds_the_training_optimizer",
    "ModelConfig.params": f"{_MODEL}::test_params_reach_the_model_constructor",
    "ModelConfig.summaries": _WIRING,
    # OptimizerConfig
    "OptimizerConfig.alpha": _DECAY_KEY,
    "OptimizerConfig.amsgrad": _OPT_KEY,
    "OptimizerConfig.beta1": _OPT_KEY,
    "OptimizerConfig.beta2": _OPT_KEY,
    "OptimizerConfig.boundaries": _DECAY_KEY,
    "OptimizerConfig.centered": _OPT_KEY,
    "OptimizerConfig.cycle": _DECAY_KEY,
    "OptimizerConfig.decay": _OPT_KEY,
    "OptimizerConfig.decay_rate": _DECAY_KEY,
    "OptimizerConfig.decay_steps": _DECAY_KEY,
    "OptimizerConfig.decay_type": _DECAY_KEY,
    "OptimizerConfig.end_learning_rate": _DECAY_KEY,
    "OptimizerConfig.epsilon": _OPT_KEY,
    "OptimizerConfig.initial_accumulator_value": _OPT_KEY,
    "OptimizerConfig.l1_regularization_strength": _OPT_KEY,
    "OptimizerConfig.l2_regularization_strength": _OPT_KEY,
    "OptimizerConfig.learning_rate": _OPT_KEY,
    "OptimizerConfig.learning_rate_power": _OPT_KEY,
    "OptimizerConfig.min_learning_rate": _DECAY_KEY,
    "OptimizerConfig.module": _OPT_KEY,
    "OptimizerConfig.momentum": _OPT_KEY,
    "OptimizerConfig.name": _OPT_KEY,
    "OptimizerConfig.power": _DECAY_KEY,
    "OptimizerConfig.rho": _OPT_KEY,
    "OptimizerConfig.staircase": _DECAY_KEY,
    "OptimizerConfig.start_decay_at": _DECAY_KEY,
    "OptimizerConfig.stop_decay_at": _DECAY_KEY,
    "OptimizerConfig.use_nesterov": _OPT_KEY,
    "OptimizerConfig.values": _DECAY_KEY,
    "OptimizerConfig.weight_decay": _OPT_KEY,
    # PipelineConfig
    "PipelineConfig.allow_smaller_final_batch": f"{_PIPES}::test_epochs_and_final_batch",
    "PipelineConfig.batch_size": f"{_PIPES}::test_epochs_and_final_batch",
    "PipelineConfig.bucket_boundaries": "tests/data/test_sequences.py::test_bucketing_pads_less_and_resumes_exactly",
    "PipelineConfig.capacity": "tests/data/test_input_config_effects.py::test_min_after_dequeue_and_capacity_size_the_shuffle_buffer",
    "PipelineConfig.definition": f"{_PIPES}::test_definition_processes_images",
    "PipelineConfig.dynamic_pad": f"{_PIPES}::test_dynamic_pad",
    "PipelineConfig.min_after_dequeue": "tests/data/test_input_config_effects.py::test_min_after_dequeue_and_capacity_size_the_shuffle_buffer",
    "PipelineConfig.module": f"{_PIPES}::test_numpy_pipeline_matches_arrays",
    "PipelineConfig.name": f"{_REJ}::test_pipeline_name_names_the_reader_processes",
    "PipelineConfig.num_epochs": f"{_PIPES}::test_epochs_and_final_batch",
    "PipelineConfig.num_threads": f"{_PIPES}::test_reader_processes_give_every_example_once",
    "PipelineConfig.params": f"{_PIPES}::test_tfrecord_pipeline_infers_features",
    "PipelineConfig.seed": f"{_PIPES}::test_shuffle_is_seeded_and_covers_each_epoch",
    "PipelineConfig.shuffle": f"{_PIPES}::test_shuffle_is_seeded_and_covers_each_epoch",
    # RLExperimentConfig
    "RLExperimentConfig.agent_config": f"{_RL}::test_module_keys_select_environment_agent_memory_model_and_exploration",
    "RLExperimentConfig.environment_config": f"{_RL}::test_environment_config_keys_reach_the_environment",
    "RLExperimentConfig.eval_environment_config": f"{_RL}::test_eval_environment_config_is_the_evaluation_environment",
    "RLExperimentConfig.eval_episodes": f"{_RL}::test_schedule_eval_episodes_eval_every_n_steps_and_target_return",
    "RLExperimentConfig.eval_every_n_steps": f"{_RL}::test_schedule_eval_episodes_eval_every_n_steps_and_target_return",
    "RLExperimentConfig.first_update": f"{_RL}::test_first_update_update_frequency_gradient_steps_and_train_steps",
    "RLExperimentConfig.gradient_steps": f"{_RL}::test_first_update_update_frequency_gradient_steps_and_train_steps",
    "RLExperimentConfig.kind": f"{_RL}::test_kind_rl_reads_the_config_as_an_rl_experiment",
    "RLExperimentConfig.model_config_": f"{_RL}::test_rl_model_module_graph_optimizer_loss_and_params",
    "RLExperimentConfig.name": f"{_RL}::test_name_output_dir_version_and_run_config_seed",
    "RLExperimentConfig.output_dir": f"{_RL}::test_name_output_dir_version_and_run_config_seed",
    "RLExperimentConfig.run_config": f"{_RL}::test_name_output_dir_version_and_run_config_seed",
    "RLExperimentConfig.schedule": f"{_RL}::test_schedule_eval_episodes_eval_every_n_steps_and_target_return",
    "RLExperimentConfig.target_return": f"{_RL}::test_schedule_eval_episodes_eval_every_n_steps_and_target_return",
    "RLExperimentConfig.train_episodes": f"{_RL}::test_train_episodes_ends_training_after_that_many_episodes",
    "RLExperimentConfig.train_steps": f"{_RL}::test_first_update_update_frequency_gradient_steps_and_train_steps",
    "RLExperimentConfig.update_frequency": f"{_RL}::test_first_update_update_frequency_gradient_steps_and_train_steps",
    "RLExperimentConfig.version": f"{_RL}::test_name_output_dir_version_and_run_config_seed",
    # RLModelConfig
    "RLModelConfig.encoder_config": f"rejected: {_REJ}::test_rl_model_config_rejects_supervised_keys",
    "RLModelConfig.decoder_config": f"rejected: {_REJ}::test_rl_model_config_rejects_supervised_keys",
    "RLModelConfig.bridge_config": f"rejected: {_REJ}::test_rl_model_config_rejects_supervised_keys",
    "RLModelConfig.cg_iterations": f"{_RL}::test_trpo_keys_shape_the_policy_step_and_the_value_fit",
    "RLModelConfig.clip_embed_gradients": f"rejected: {_REJ}::test_rl_model_config_rejects_supervised_keys",
    "RLModelConfig.clip_gradients": f"{_RL}::test_rl_clip_gradients_bounds_each_update",
    "RLModelConfig.clip_range": f"{_RL}::test_ppo_num_epochs_minibatch_size_and_clip_range",
    "RLModelConfig.damping": f"{_RL}::test_trpo_keys_shape_the_policy_step_and_the_value_fit",
    "RLModelConfig.discount": f"{_RL}::test_discount_scales_the_bootstrapped_value",
    "RLModelConfig.dueling": f"{_RL}::test_dueling_aggregates_value_and_advantages",
    "RLModelConfig.entropy_coefficient": f"{_RL}::test_policy_loss_keys_change_the_loss",
    "RLModelConfig.eval_metrics_config": f"rejected: {_REJ}::test_rl_model_config_rejects_supervised_keys",
    "RLModelConfig.exploration_config": f"{_RL}::test_module_keys_select_environment_agent_memory_model_and_exploration",
    "RLModelConfig.gae_lambda": f"{_RL}::test_policy_loss_keys_change_the_loss",
    "RLModelConfig.graph_config": f"{_RL}::test_rl_model_module_graph_optimizer_loss_and_params",
    "RLModelConfig.loss_config": f"{_RL}::test_rl_model_module_graph_optimizer_loss_and_params",
    "RLModelConfig.max_kl": f"{_RL}::test_trpo_keys_shape_the_policy_step_and_the_value_fit",
    "RLModelConfig.minibatch_size": f"{_RL}::test_ppo_num_epochs_minibatch_size_and_clip_range",
    "RLModelConfig.module": f"{_RL}::test_rl_model_module_graph_optimizer_loss_and_params",
    "RLModelConfig.n_classes": f"rejected: {_REJ}::test_rl_model_config_rejects_supervised_keys",
    "RLModelConfig.n_steps": f"{_RL}::test_n_steps_stores_n_step_transitions",
    "RLModelConfig.normalize_advantages": f"{_RL}::test_policy_loss_keys_change_the_loss",
    "RLModelConfig.num_epochs": f"{_RL}::test_ppo_num_epochs_minibatch_size_and_clip_range",
    "RLModelConfig.one_hot_encode": f"rejected: {_REJ}::test_rl_model_config_rejects_supervised_keys",
    "RLModelConfig.optimizer_config": f"{_RL}::test_rl_model_module_graph_optimizer_loss_and_params",
    "RLModelConfig.params": f"{_RL}::test_rl_model_module_graph_optimizer_loss_and_params",
    "RLModelConfig.summaries": f"{_AGENT}::test_rl_summaries_are_written_every_save_summary_steps",
    "RLModelConfig.target_update_frequency": f"{_RL}::test_target_update_frequency_and_tau_sync_the_target_network",
    "RLModelConfig.tau": f"{_RL}::test_target_update_frequency_and_tau_sync_the_target_network",
    "RLModelConfig.value_coefficient": f"{_RL}::test_policy_loss_keys_change_the_loss",
    "RLModelConfig.value_iterations": f"{_RL}::test_trpo_keys_shape_the_policy_step_and_the_value_fit",
    "RLModelConfig.value_optimizer_config": f"rejected: {_RL}::test_value_optimizer_config_is_rejected_by_every_model",
    # RunConfig
    "RunConfig.compile": f"{_RUN}::test_compile_runs_the_model_through_torch_compile",
    "RunConfig.precision": "tests/estimators/test_precision_and_compile.py::test_bf16_runs_the_forward_pass_in_bfloat16",
    "RunConfig.accumulate_grad_batches": "tests/estimators/test_precision_and_compile.py::test_accumulated_update_equals_the_update_of_the_mean_loss",
    "RunConfig.memory_format": "tests/estimators/test_precision_and_compile.py::test_channels_last_keeps_conv_weights_nhwc_and_the_results",
    "RunConfig.device": f"{_RUN}::test_device_places_the_model",
    "RunConfig.distributed": "tests/distributed/test_ddp.py::test_distributed_timeout_fails_a_collective_that_waits_for_a_silent_rank",
    "RunConfig.host_memory": "tests/test_host_memory.py::test_estimator_training_retains_and_gives_the_same_weights",
    "RunConfig.keep_checkpoint_every_n_hours": "tests/estimators/test_estimator.py::test_keep_checkpoint_every_n_hours_preserves_milestones",
    "RunConfig.keep_checkpoint_max": "tests/estimators/test_estimator.py::test_checkpoints_every_n_steps_and_keep_max",
    "RunConfig.log_step_count_steps": _WIRING,
    "RunConfig.num_threads": f"{_RUN}::test_num_threads_sets_torch_threads_for_the_run",
    "RunConfig.verbose": "tests/test_newcomer_stumbles.py::test_a_script_shows_progress_without_setting_up_logging",
    "RunConfig.save_checkpoints_secs": f"{_RUN}::test_save_checkpoints_secs_checkpoints_on_a_clock",
    "RunConfig.save_checkpoints_steps": "tests/estimators/test_estimator.py::test_checkpoints_every_n_steps_and_keep_max",
    "RunConfig.save_summary_steps": _WIRING,
    "RunConfig.seed": f"{_RUN}::test_seed_decides_the_initial_weights",
}

CONDITIONS: dict[str, str] = {
    # Keys refused in one situation, or honoured by a second consumer (in brackets), beside
    # the row in KEY_EFFECTS that shows the key's effect where it applies.
    "ExperimentConfig.delay_workers_by_global_step [true]": f"rejected: {_REJ}::test_delay_workers_true_is_rejected_false_accepted",
    "GraphConfig.features [RL models]": f"rejected: {_REJ}::test_rl_settings_that_would_do_nothing_are_refused",
    "InputDataConfig.input_type [with pipeline_config.module]": f"rejected: {_REJ}::test_file_pipelines_refuse_arrays_and_a_second_reader",
    "InputDataConfig.x [file pipelines]": f"rejected: {_REJ}::test_file_pipelines_refuse_arrays_and_a_second_reader",
    "InputDataConfig.y [file pipelines]": f"rejected: {_REJ}::test_file_pipelines_refuse_arrays_and_a_second_reader",
    "InputDataConfig.y_column [not pandas]": "tests/data/test_pandas_input.py::test_inputs_must_agree_on_categories_and_keys_need_pandas",
    "MemoryConfig.save_contents [BatchMemory]": f"rejected: {_REJ}::test_batch_memory_refuses_replay_keys",
    "MemoryConfig.size [BatchMemory]": f"rejected: {_REJ}::test_batch_memory_refuses_replay_keys",
    "OptimizerConfig.staircase [a decay that does not use it]": f"rejected: {_REJ}::test_decay_settings_need_a_decay_that_uses_them",
    "OptimizerConfig.decay_rate [no decay_type]": f"rejected: {_REJ}::test_decay_settings_need_a_decay_that_uses_them",
    "PipelineConfig.capacity [below min_after_dequeue]": f"rejected: {_REJ}::test_capacity_must_hold_min_after_dequeue",
    "PipelineConfig.definition [image processors' seed]": f"rejected: {_REJ}::test_image_processor_seed_is_rejected",
    "PipelineConfig.dynamic_pad [array input]": f"rejected: {_REJ}::test_array_input_refuses_record_pipeline_keys",
    "PipelineConfig.num_threads [array input]": f"rejected: {_REJ}::test_array_input_refuses_record_pipeline_keys",
    "PipelineConfig.params [array input]": f"rejected: {_REJ}::test_array_input_refuses_record_pipeline_keys",
    "RLExperimentConfig.first_update [PGAgent]": f"rejected: {_REJ}::test_rl_settings_that_would_do_nothing_are_refused",
    "RLExperimentConfig.gradient_steps [PGAgent]": f"rejected: {_REJ}::test_rl_settings_that_would_do_nothing_are_refused",
    "RLExperimentConfig.target_return [no eval_every_n_steps]": f"rejected: {_REJ}::test_rl_settings_that_would_do_nothing_are_refused",
    "RLExperimentConfig.update_frequency [PGAgent]": f"rejected: {_REJ}::test_rl_settings_that_would_do_nothing_are_refused",
    "RunConfig.compile [Agent]": f"rejected: {_REJ}::test_rl_config_and_agent_reject_compile_and_estimator_only_keys",
    "RunConfig.device [Agent]": "tests/rl/test_rl_devices.py::test_the_agent_places_its_model_on_the_configured_device",
    "RunConfig.distributed [Agent]": f"rejected: {_REJ}::test_rl_config_and_agent_reject_compile_and_estimator_only_keys",
    "RunConfig.precision [Agent]": f"rejected: {_REJ}::test_rl_config_and_agent_reject_compile_and_estimator_only_keys",
    "RunConfig.accumulate_grad_batches [Agent]": f"rejected: {_REJ}::test_rl_config_and_agent_reject_compile_and_estimator_only_keys",
    "RunConfig.memory_format [Agent]": f"rejected: {_REJ}::test_rl_config_and_agent_reject_compile_and_estimator_only_keys",
    "RunConfig.host_memory [Agent]": f"{_AGENT}::test_agent_keeps_freed_host_memory_while_it_trains_under_retain",
    "RunConfig.keep_checkpoint_every_n_hours [Agent]": f"{_AGENT}::test_agent_keeps_hourly_checkpoints_as_configured",
    "RunConfig.num_threads [Agent]": f"{_AGENT}::test_agent_sets_the_thread_count_when_it_trains",
    "RunConfig.verbose [Agent]": f"{_AGENT}::test_agent_shows_progress_unless_verbose_is_false",
    "RunConfig.save_summary_steps [Agent]": f"{_AGENT}::test_rl_summaries_are_written_every_save_summary_steps",
}

PENDING: dict[str, str] = {
    # Keys accepted and ignored today, each with the test expected to show the fix. Empty: a
    # row here skips (and lists) the key until its test exists, then it must move out.
}


def config_classes() -> list[type[BaseConfig]]:
    """Every public config model in ``petri.configs`` (private bases through their subclasses)."""
    found: dict[str, type[BaseConfig]] = {}
    modules = [petri.configs, *_config_modules()]
    for module in modules:
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseConfig) and value is not BaseConfig:
                found.setdefault(value.__name__, value)
    pending = list(found.values())
    while pending:  # subclasses defined anywhere in petri.configs' modules
        for subclass in pending.pop().__subclasses__():
            if subclass.__name__ not in found:
                found[subclass.__name__] = subclass
                pending.append(subclass)
    return sorted(
        (cls for name, cls in found.items() if not name.startswith("_")), key=lambda c: c.__name__
    )


def _config_modules() -> list[object]:
    import importlib
    import pkgutil

    return [
        importlib.import_module(info.name)
        for info in pkgutil.iter_modules(petri.configs.__path__, "petri.configs.")
    ]


def config_fields() -> set[str]:
    return {f"{cls.__name__}.{field}" for cls in config_classes() for field in cls.model_fields}


def _field(key: str) -> str:
    """``Class.field`` of a table key (``PENDING`` may add ``[the consumer]``)."""
    return key.split(" [")[0]


@cache
def _test_names(path: str) -> frozenset[str]:
    tree = ast.parse((ROOT / path).read_text())
    return frozenset(
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test")
    )


def _missing_test(reference: str) -> str | None:
    """Why ``reference`` (``[rejected: ]tests/<path>.py::test_name``) names no test, or None."""
    target = reference.removeprefix("rejected: ")
    path, _, name = target.partition("::")
    if not path.startswith("tests/") or not path.endswith(".py") or not name:
        return f"{reference!r} is not 'tests/<path>.py::test_name'"
    if not (ROOT / path).is_file():
        return f"{path} does not exist"
    if name.split("[")[0] not in _test_names(path):
        return f"{path} has no test {name!r}"
    return None


def test_config_classes_are_found() -> None:
    names = {cls.__name__ for cls in config_classes()}
    assert {"ExperimentConfig", "RLModelConfig", "LossConfig", "ExplorationConfig"} <= names
    assert not any(name.startswith("_") for name in names)
    assert {"module", "name"} <= set(petri.configs.LossConfig.model_fields)  # via _Selectable


def test_every_field_has_an_entry() -> None:
    listed = set(KEY_EFFECTS) | {_field(key) for key in PENDING}
    missing = sorted(config_fields() - listed)
    assert not missing, (
        "These config keys have no entry in KEY_EFFECTS (tests/configs/test_every_key.py): "
        f"{missing}. Add a test that sets the key and asserts what it changes (or that it is "
        "rejected with a message), and name it there."
    )


def test_every_entry_names_an_existing_field() -> None:
    fields = config_fields()
    stale = sorted(
        key for key in [*KEY_EFFECTS, *CONDITIONS, *PENDING] if _field(key) not in fields
    )
    assert not stale, f"KEY_EFFECTS/PENDING name fields that no longer exist: {stale}."
    assert not set(KEY_EFFECTS) & {_field(key) for key in PENDING if "[" not in key}


def test_table_is_sorted_by_class() -> None:
    classes = [_field(key).split(".")[0] for key in KEY_EFFECTS]
    assert classes == sorted(classes)


def test_every_entry_names_an_existing_test() -> None:
    rows = {**KEY_EFFECTS, **CONDITIONS}
    problems = {key: _missing_test(ref) for key, ref in rows.items()}
    broken = {key: why for key, why in problems.items() if why}
    assert not broken, f"KEY_EFFECTS/CONDITIONS entries whose test does not exist: {broken}"


def test_pending_keys_have_their_tests() -> None:
    done = sorted(key for key, ref in PENDING.items() if _missing_test(ref) is None)
    assert not done, (
        f"These PENDING keys have their test now: move their rows to KEY_EFFECTS: {done}"
    )
    if not PENDING:
        return
    pytest.skip(
        "Config keys accepted but ignored today (issue #10); each needs the named test, then "
        "its row moves to KEY_EFFECTS:\n"
        + "\n".join(f"  {key}: {reference}" for key, reference in sorted(PENDING.items()))
    )

"""A PPO agent for CartPole with rl-baselines3-zoo's settings (8 environments, GAE 0.8).

Run: ``python examples/rl/ppo_cartpole.py`` (up to 100,000 environment steps).
"""

from __future__ import annotations

import sys

import petri as plx


def main(steps: int = 100_000, model_dir: str = "/tmp/petri_logs/ppo_cartpole") -> dict:
    env = plx.envs.GymEnvironment("CartPole-v1", seed=0, num_envs=8)

    def graph_fn(mode, inputs):
        x = plx.layers.FullyConnected(mode, num_units=64, activation="tanh")(inputs["state"])
        return plx.layers.FullyConnected(mode, num_units=64, activation="tanh")(x)

    def model_fn(features, labels, mode):
        model = plx.models.PPOModel(
            mode,
            graph_fn=graph_fn,
            num_states=env.num_states,
            num_actions=env.num_actions,
            optimizer_config=plx.configs.OptimizerConfig(
                module="adam",
                learning_rate=1e-3,
                decay_type="polynomial_decay",
                decay_steps=max(steps // 256 * 20, 1),  # updates: batches x epochs
                end_learning_rate=1e-5,
            ),
            discount=0.98,
            gae_lambda=0.8,
            num_epochs=20,
            minibatch_size=256,
            clip_range=0.2,
        )
        return model(features, labels)

    memory = plx.rl.memories.BatchMemory(batch_size=256)  # 32 steps x 8 environments
    agent = plx.estimators.PGAgent(
        model_fn=model_fn, memory=memory, model_dir=model_dir, config={"seed": 0, "num_threads": 1}
    )
    agent.train(env, steps=steps)
    return agent.evaluate(plx.envs.GymEnvironment("CartPole-v1", seed=100), episodes=20)


if __name__ == "__main__":
    print(main(*(int(a) for a in sys.argv[1:2])))

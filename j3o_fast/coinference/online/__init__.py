"""Online co-inference (docs/coinference.rst section 7): tasks arrive slot by slot and a policy dispatches them.

An ``OnlineTrace`` holds the devices, the edge GPU and the arriving tasks of one episode
(docs/formats.rst, "Online arrival trace"), so that every policy replays the same arrivals;
``generate_trace`` draws one from a ``Scenario`` and a seed.
"""

from .episode import OBS_SIZE, Episode, EpisodeResult, episode_outcome, play_episode, run_episode
from .planner import DispatchPlan, plan_dispatch
from .policies import (DDPGPolicy, Threshold, TrainingInterrupted, best_threshold, clairvoyant,
                       clairvoyant_outcome, every_slot, train_ddpg)
from .scenario import SCENARIOS, Scenario, device_seed, generate_trace, rate_path, scenario
from .trace import OnlineTrace
from .trace_io import TRACE_FORMAT, load_trace, save_trace, trace_from_dict, trace_to_dict

__all__ = [
    "DDPGPolicy", "DispatchPlan", "Episode", "EpisodeResult", "OBS_SIZE", "OnlineTrace", "SCENARIOS", "Scenario",
    "TRACE_FORMAT", "Threshold", "TrainingInterrupted", "best_threshold", "clairvoyant", "clairvoyant_outcome",
    "device_seed", "episode_outcome", "every_slot", "generate_trace", "load_trace", "plan_dispatch", "play_episode",
    "rate_path", "run_episode", "save_trace", "scenario", "trace_from_dict", "trace_to_dict", "train_ddpg",
]

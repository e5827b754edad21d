#pragma once

// Jupyter in a Slurm job, as data: the job's options and their checks, the commands jl runs on
// the login node (sbatch, the job's state, scancel, a step with srun), the batch script that
// holds the allocation, and parsers for what Slurm prints. Nothing here talks to the network.
//
// How a job runs Jupyter. `sbatch --parsable` submits the batch script (slurm_job.sh); the
// script makes a directory of its own on the node (/tmp/jl-UID/job-ID, 0700) and waits. Once
// the job runs, jl runs the same probe and start scripts as in a container, as a step
// (`srun --overlap --jobid`), with the token on the step's stdin. The start script does not
// start Jupyter itself (with ProctrackType=cgroup a step's background processes end with the
// step): it hands the command line over through that directory, the token in a 0600 file the
// batch script reads and removes, and the batch script runs Jupyter in the job's own step
// until it ends. The token is in no argv and not in the job script's text.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jl::slurm {

// jl up NAME --slurm: Slurm's own options, as given (each checked by validate()).
struct JobOptions {
  std::optional<std::string> partition;
  std::optional<std::string> gres;  // gpu:N or gpu:TYPE:N (any GRES Slurm knows)
  std::optional<std::string> gpus;  // N or TYPE:N
  std::optional<std::string> time;  // Slurm's forms: MM, MM:SS, H:MM:SS, D-H, D-H:MM, D-H:MM:SS
  std::optional<int> cpus_per_task;
  std::optional<std::string> mem;  // N[K|M|G|T]
  std::optional<std::string> account;
  std::optional<std::string> qos;
  std::vector<std::string> sbatch_args;  // any other sbatch arguments (after --)

  bool operator==(const JobOptions&) const = default;
};

// An error message for the first bad option (empty: all good), before anything is sent.
std::string validate(const JobOptions& options);

// Minutes of a Slurm time limit ("1:00:00" -> 60); nothing when it is not one of Slurm's forms.
std::optional<long long> parse_time_limit(std::string_view text);

// The job's name in Slurm: "jl-NAME".
std::string job_name(std::string_view name);

// The sbatch arguments for a session NAME (after `sbatch --parsable`): the job's name, one
// node and one task, no output file of Slurm's own (the batch script keeps its words in jl's
// log), the options, then `sbatch_args`.
std::vector<std::string> sbatch_arguments(std::string_view name, const JobOptions& options);

// The login-node command that submits the batch script (on sbatch's stdin) with these
// arguments. It prints "@@NONCE submit RC" then sbatch's output (stdout and stderr).
std::string submit_command(std::string_view nonce, const std::vector<std::string>& arguments);

// What sbatch answered.
struct Submitted {
  std::string job_id;    // empty when it refused
  std::string error;     // Slurm's reason, without "sbatch: error: " (when it refused)
  bool missing = false;  // no sbatch on the login node
};
Submitted parse_submit(std::string_view output, std::string_view nonce);

// A job as squeue, scontrol and sacct see it.
struct Job {
  std::string id;
  std::string state;      // PENDING, RUNNING, COMPLETING, TIMEOUT, CANCELLED, NODE_FAIL, ...
  std::string reason;     // Resources, Priority, TimeLimit, None, ...
  std::string start;      // squeue's start estimate (pending) or start time (running); may be empty
  std::string node;       // the node it runs on
  std::string node_addr;  // that node's address as the login node reaches it (NodeAddr)
  std::string time_left;  // squeue's %L: "59:30", "1:00:00", "UNLIMITED"
  std::string time_limit;  // "1:00:00"
  std::string elapsed;     // run time so far, or in all once it ended
  std::string exit_code;   // "0:0", "0:15"
  std::string partition;
  bool known = false;  // Slurm knows the job (false: no record anywhere)
  // squeue could not answer for another reason than an unknown job (the controller is down,
  // no squeue): its words. Empty when it answered.
  std::string query_error;
  bool from_accounting = false;  // the end came from sacct (else from scontrol)

  bool pending() const;
  bool running() const;  // RUNNING (not COMPLETING or anything after)
  bool ended() const;    // a final state: COMPLETED, TIMEOUT, CANCELLED, FAILED, NODE_FAIL, ...
};

// The login-node command that reports job `id`: squeue's line, and when the job is running the
// node's line of scontrol; when squeue no longer lists it, sacct's and scontrol's records.
std::string job_state_command(std::string_view nonce, std::string_view id);
// What job_state_command printed. `known` is false when no source knows the job.
Job parse_job_state(std::string_view output, std::string_view nonce, std::string_view id);

// The login-node command that finds this user's live job named job_name(NAME), if any; its
// output parses with parse_job_state (id empty: the first job listed).
std::string find_job_command(std::string_view nonce, std::string_view name);

// One line for a job that is not running yet: "PENDING (Resources), start expected
// 2026-12-07T20:15:00" (no start when Slurm does not know one).
std::string pending_words(const Job& job);

// For a pending job whose reason means it can never start as asked (a time limit over the
// partition's, a per-job limit of the account or QOS, an invalid account): Slurm's reason and
// what it means. Nothing for a job that only waits (Resources, Priority, a group limit).
std::optional<std::string> never_starts(const Job& job);

// For a job that ended: "job 42 ended: TIMEOUT after 1:00:00" (the reason and exit code when
// they tell more: "job 42 ended: NODE_FAIL after 0:02:11 (node jltb-node1 down)").
std::string ended_words(const Job& job);

// A run time as Slurm prints it ("00:01:03", "1-02:00:00") in jl's form: "0:01:03",
// "1-2:00:00".
std::string format_elapsed(std::string_view elapsed);

// The login-node command that cancels the job (scancel). Prints "@@NONCE cancel RC" and
// scancel's words.
std::string cancel_command(std::string_view nonce, std::string_view id);
// Whether it worked (or the job had ended already); `error` gets scancel's words otherwise.
bool parse_cancel(std::string_view output, std::string_view nonce, std::string* error);

// srun's words that run a command as a step of job `id` on its node, beside the steps that
// run (--overlap), one task, without srun's own chatter.
std::vector<std::string> step_words(std::string_view id);

// The handover directory of job `id` on its node, as the batch script and the start script
// both name it: /tmp/jl-UID/job-ID, where UID is the user's id there.
std::string handoff_dir_words(std::string_view id);

// The probe-and-start conversation of probe::probe_and_start_command, run as a step of job
// `id`: the probe's facts, "plan?", then the plan on stdin. The start hands Jupyter over to the
// batch script (see the top). The outer part prints "@@NONCE exec" before srun and
// "@@NONCE exec-rc RC" after it, as the container probe's does.
std::string probe_and_start_command(std::string_view nonce, std::string_view id);

// The batch script (for submit_command's stdin).
std::string_view batch_script();

// jl logs: the log reader (logs::Reader's protocol) as a step of job `id` while it runs, else
// on the login node itself (a home directory shared with the nodes keeps the log).
std::string log_command(std::string_view nonce, std::string_view id, std::string_view log_file,
                        int lines, bool follow);

// jupyter::config_command's script as a step of job `id`.
std::string config_command(std::string_view id);

// jl doctor: the Slurm client tools on the login node, the partition (its state, time limit
// and GPUs), and the user's association limits (sacctmgr). Prints marked sections.
std::string doctor_command(std::string_view nonce, const std::optional<std::string>& partition);

struct DoctorFacts {
  std::vector<std::string> missing_tools;  // of sbatch, squeue, srun, scancel, sacct, scontrol
  std::string version;                     // "slurm 22.05.8"
  // The partition asked for (or the default one): name, state, time limit, nodes, GRES.
  bool partition_found = false;
  std::string partition;
  std::string partition_state;  // up, down, drain, inact
  std::string partition_time_limit;
  std::string partition_nodes;          // "2" nodes
  std::string partition_gres;           // "gpu:1"
  std::vector<std::string> partitions;  // every partition (names), for a hint
  // The user's associations: account, and their limits in words (MaxWall, GrpTRES, ...).
  std::vector<std::string> associations;  // "account jltb-lab: MaxWall 2:00:00, GrpTRES gres/gpu=2"
  bool accounting = false;                // sacctmgr answered
  std::string accounting_error;
};
DoctorFacts parse_doctor(std::string_view output, std::string_view nonce);

}  // namespace jl::slurm

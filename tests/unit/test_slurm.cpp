// Jupyter in a Slurm job: the options' checks, sbatch's arguments, the parsers of what sbatch,
// squeue, sacct, scontrol, scancel, sinfo and sacctmgr print (their real words), and the scripts
// run for real by /bin/sh with stand-ins for Slurm's tools: the batch script holds a "job",
// the probe-and-start conversation hands a stand-in Jupyter over to it, and the job's end takes
// the server and the handover directory with it.

#include "jl/core/slurm.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "jl/core/logs.hpp"
#include "jl/core/probe.hpp"
#include "jl/core/shell.hpp"
#include "support.hpp"

namespace {

using jl::slurm::Job;
using jl::slurm::JobOptions;
using jl_test::cmdline_of;
using jl_test::exists;
using jl_test::read_file;
using jl_test::run_sh;
using jl_test::split_nul;
using jl_test::write_file;

// ---------------------------------------------------------------------------------------------
// validate and parse_time_limit

TEST(SlurmValidate, AcceptsSlurmsForms) {
  EXPECT_EQ(jl::slurm::validate({}), "");
  JobOptions o;
  o.partition = "gpu";
  o.account = "jltb-lab";
  o.qos = "normal.high_1";
  o.gres = "gpu:a100:2,shard:1,gpu";
  o.gpus = "a100:4";
  o.time = "1-02:30:00";
  o.cpus_per_task = 8;
  o.mem = "16g";
  o.sbatch_args = {"--parsable", "-D",  "/work dir", "--chdir=/x",         "--nodes=1",
                   "-n",         "1",   "-N1",       "--exclusive",        "--constraint=a100",
                   "--comment",  "x y", "-vv",       "--ntasks-per-node=1"};
  EXPECT_EQ(jl::slurm::validate(o), "");
  for (const char* gres : {"gpu", "gpu:1", "gpu:a100", "gpu:a100:2", "mps:100,gpu:1"}) {
    JobOptions g;
    g.gres = gres;
    EXPECT_EQ(jl::slurm::validate(g), "") << gres;
  }
  for (const char* gpus : {"1", "1024", "v100:2"}) {
    JobOptions g;
    g.gpus = gpus;
    EXPECT_EQ(jl::slurm::validate(g), "") << gpus;
  }
  for (const char* mem : {"0", "4000", "4G", "512m", "1T", "100k"}) {
    JobOptions m;
    m.mem = mem;
    EXPECT_EQ(jl::slurm::validate(m), "") << mem;
  }
}

TEST(SlurmValidate, RefusesWhatWouldFailOrBreakTheJob) {
  struct Case {
    JobOptions options;
    std::string words;  // a part of the message
  };
  auto with = [](auto set) {
    JobOptions o;
    set(o);
    return o;
  };
  const std::vector<Case> cases = {
      {with([](JobOptions& o) { o.partition = "-gpu"; }), "invalid --partition '-gpu'"},
      {with([](JobOptions& o) { o.partition = ""; }), "invalid --partition ''"},
      {with([](JobOptions& o) { o.partition = "gpu,cpu"; }), "invalid --partition"},
      {with([](JobOptions& o) { o.account = "lab x"; }), "invalid --account 'lab x'"},
      {with([](JobOptions& o) { o.qos = "a;b"; }), "invalid --qos"},
      {with([](JobOptions& o) { o.gres = "gpu:0"; }), "invalid --gres 'gpu:0'"},
      {with([](JobOptions& o) { o.gres = "gpu:a100:x"; }), "invalid --gres"},
      {with([](JobOptions& o) { o.gres = "gpu:a:1:2"; }), "invalid --gres"},
      {with([](JobOptions& o) { o.gres = "gpu,,x"; }), "invalid --gres"},
      {with([](JobOptions& o) { o.gres = ""; }), "invalid --gres"},
      {with([](JobOptions& o) { o.gpus = "0"; }), "invalid --gpus '0'"},
      {with([](JobOptions& o) { o.gpus = "1025"; }), "invalid --gpus"},
      {with([](JobOptions& o) { o.gpus = "a100:"; }), "invalid --gpus"},
      {with([](JobOptions& o) { o.gpus = "two"; }), "invalid --gpus"},
      {with([](JobOptions& o) { o.time = "1h"; }),
       "invalid --time '1h': use MM, H:MM:SS or D-H:MM:SS (Slurm's forms)"},
      {with([](JobOptions& o) { o.cpus_per_task = 0; }), "invalid --cpus-per-task 0"},
      {with([](JobOptions& o) { o.cpus_per_task = 4097; }), "invalid --cpus-per-task"},
      {with([](JobOptions& o) { o.mem = "4GB"; }), "invalid --mem '4GB'"},
      {with([](JobOptions& o) { o.mem = "G"; }), "invalid --mem"},
      {with([](JobOptions& o) { o.mem = "-1"; }), "invalid --mem"},
  };
  for (const auto& c : cases) {
    auto message = jl::slurm::validate(c.options);
    EXPECT_NE(message.find(c.words), std::string::npos) << message << " / " << c.words;
  }
}

TEST(SlurmValidate, RefusesSbatchArgumentsThatBreakJlsJob) {
  const std::vector<std::vector<std::string>> refused = {
      {"-o", "out.txt"},
      {"-oout.txt"},
      {"--output=x"},
      {"--output", "x"},
      {"--out=x"},
      {"-e", "err"},
      {"--error=x"},
      {"-J", "name"},
      {"--job-name=x"},
      {"-a", "1-3"},
      {"--array=1-3"},
      {"-N", "2"},
      {"-N2"},
      {"--nodes=2"},
      {"--nodes", "2-4"},
      {"-n", "4"},
      {"--ntasks=2"},
      {"--wrap=hostname"},
      {"-W"},
      {"--wait"},
      {"-vW"},
      {"--comment=a\nb"},
      {"-v", "-o", "x"},
      {"--nodes"},
  };
  for (const auto& args : refused) {
    JobOptions o;
    o.sbatch_args = args;
    auto message = jl::slurm::validate(o);
    EXPECT_FALSE(message.empty()) << ::testing::PrintToString(args);
  }
  JobOptions o;
  o.sbatch_args = {"--output=slurm-%j.out"};
  EXPECT_EQ(jl::slurm::validate(o),
            "sbatch argument '--output=slurm-%j.out' would break jl's job: jl's job keeps its "
            "words in jl's log");
  o.sbatch_args = {"-v", "-N", "2"};
  EXPECT_EQ(jl::slurm::validate(o),
            "sbatch argument '-N 2' would break jl's job: jl's job runs on one node");
  o.sbatch_args = {"-vW"};
  EXPECT_EQ(jl::slurm::validate(o),
            "sbatch argument '-vW' would break jl's job: sbatch must return once the job is "
            "queued");
  // A short option's value is no option of its own.
  o.sbatch_args = {"-D", "-odd dir", "--exclusive"};
  EXPECT_EQ(jl::slurm::validate(o), "");
  o.sbatch_args = {"--comment=a\nb"};
  EXPECT_EQ(jl::slurm::validate(o), "an sbatch argument holds a line break");
}

TEST(SlurmTime, SlurmsFormsInMinutes) {
  using jl::slurm::parse_time_limit;
  EXPECT_EQ(parse_time_limit("30"), 30);
  EXPECT_EQ(parse_time_limit("90"), 90);
  EXPECT_EQ(parse_time_limit("0"), 0);
  EXPECT_EQ(parse_time_limit("30:00"), 30);    // MM:SS
  EXPECT_EQ(parse_time_limit("0:30"), 1);      // seconds round up
  EXPECT_EQ(parse_time_limit("1:00:00"), 60);  // H:MM:SS
  EXPECT_EQ(parse_time_limit("12:30:01"), 751);
  EXPECT_EQ(parse_time_limit("2-0"), 2 * 24 * 60);  // D-H
  EXPECT_EQ(parse_time_limit("1-2"), 26 * 60);
  EXPECT_EQ(parse_time_limit("1-2:30"), 26 * 60 + 30);      // D-H:MM
  EXPECT_EQ(parse_time_limit("1-02:30:00"), 26 * 60 + 30);  // D-H:MM:SS
  EXPECT_EQ(parse_time_limit(" 1:00:00 "), 60);
  auto unlimited = parse_time_limit("UNLIMITED");
  ASSERT_TRUE(unlimited.has_value());
  EXPECT_GT(*unlimited, 1'000'000'000LL);
  EXPECT_EQ(parse_time_limit("infinite"), unlimited);
  EXPECT_EQ(parse_time_limit("Infinite"), unlimited);
  for (const char* bad : {"", "1h", "30m", "1:2:3:4", "1-", "-1", "1-2-3", "1:60:00", "1:00:60",
                          "1-24", "1-2:3:4:5", "a:b", "1::0", ":30", "1.5", "+30", "1-:30"}) {
    EXPECT_FALSE(parse_time_limit(bad).has_value()) << bad;
  }
}

// ---------------------------------------------------------------------------------------------
// sbatch

TEST(SlurmSubmit, ArgumentsInOrder) {
  EXPECT_EQ(jl::slurm::job_name("demo"), "jl-demo");
  EXPECT_EQ(jl::slurm::sbatch_arguments("demo", {}),
            (std::vector<std::string>{"--job-name=jl-demo", "--nodes=1", "--ntasks=1",
                                      "--output=/dev/null"}));
  JobOptions o;
  o.partition = "gpu";
  o.gres = "gpu:1";
  o.gpus = "1";
  o.time = "1:00:00";
  o.cpus_per_task = 4;
  o.mem = "8G";
  o.account = "jltb-lab";
  o.qos = "normal";
  o.sbatch_args = {"--exclusive", "-D", "/tmp"};
  EXPECT_EQ(
      jl::slurm::sbatch_arguments("demo", o),
      (std::vector<std::string>{
          "--job-name=jl-demo", "--nodes=1", "--ntasks=1", "--output=/dev/null", "--partition=gpu",
          "--gres=gpu:1", "--gpus=1", "--time=1:00:00", "--cpus-per-task=4", "--mem=8G",
          "--account=jltb-lab", "--qos=normal", "--exclusive", "-D", "/tmp"}));
}

TEST(SlurmSubmit, WhatSbatchAnswered) {
  using jl::slurm::parse_submit;
  auto ok = parse_submit("@@N submit 0\n42\n", "N");
  EXPECT_EQ(ok.job_id, "42");
  EXPECT_EQ(ok.error, "");
  EXPECT_FALSE(ok.missing);

  auto cluster = parse_submit("@@N submit 0\n42;jltb\n", "N");
  EXPECT_EQ(cluster.job_id, "42");

  auto partition = parse_submit(
      "@@N submit 1\nsbatch: error: invalid partition specified: nosuch\nsbatch: error: Batch job "
      "submission failed: Invalid partition name specified\n",
      "N");
  EXPECT_EQ(partition.job_id, "");
  EXPECT_EQ(partition.error,
            "Invalid partition name specified (invalid partition specified: nosuch)");

  auto config = parse_submit(
      "@@N submit 1\nsbatch: error: Batch job submission failed: Requested node configuration is "
      "not available\n",
      "N");
  EXPECT_EQ(config.job_id, "");
  EXPECT_EQ(config.error, "Requested node configuration is not available");

  auto other = parse_submit("@@N submit 1\nsomething odd\n\nthe last words\n\n", "N");
  EXPECT_EQ(other.error, "the last words");

  auto missing = parse_submit("@@N missing sbatch\n", "N");
  EXPECT_TRUE(missing.missing);
  EXPECT_EQ(missing.job_id, "");

  auto nothing = parse_submit("", "N");
  EXPECT_EQ(nothing.job_id, "");
  EXPECT_FALSE(nothing.error.empty());
}

// ---------------------------------------------------------------------------------------------
// The job's state

constexpr const char* kNodeLine =
    "NodeName=jltb-node1 Arch=x86_64 CoresPerSocket=1 CPUAlloc=1 CPUEfctv=2 CPUTot=2 CPULoad=0.02 "
    "AvailableFeatures=(null) ActiveFeatures=(null) Gres=gpu:1 NodeAddr=172.30.7.11 "
    "NodeHostName=jltb-node1 Version=22.05.8 OS=Linux 6.1.0-13-amd64 #1 SMP PREEMPT_DYNAMIC "
    "Debian 6.1.55-1 (2023-09-29) RealMemory=1000 AllocMem=0 FreeMem=N/A Sockets=2 Boards=1 "
    "State=MIXED ThreadsPerCore=1 TmpDisk=0 Weight=1 Owner=N/A MCS_label=N/A Partitions=gpu "
    "BootTime=2026-12-07T19:00:00 SlurmdStartTime=2026-12-07T19:00:05 "
    "LastBusyTime=2026-12-07T20:01:00 CfgTRES=cpu=2,mem=1000M,billing=2,gres/gpu=1 "
    "AllocTRES=cpu=1,gres/gpu=1 CapWatts=n/a CurrentWatts=0 AveWatts=0 ExtSensorsJoules=n/s "
    "ExtSensorsWatts=0 ExtSensorsTemp=n/s\n";

constexpr const char* kGone = "@@N squeue 1\nslurm_load_jobs error: Invalid job id specified\n";

TEST(SlurmJob, Pending) {
  auto job = jl::slurm::parse_job_state(
      "@@N squeue 0\n42|PENDING|Resources|2026-12-07T20:15:00||1:00:00|1:00:00|0:00|gpu\n", "N",
      "42");
  EXPECT_TRUE(job.known);
  EXPECT_EQ(job.id, "42");
  EXPECT_EQ(job.state, "PENDING");
  EXPECT_EQ(job.reason, "Resources");
  EXPECT_EQ(job.start, "2026-12-07T20:15:00");
  EXPECT_EQ(job.node, "");
  EXPECT_EQ(job.node_addr, "");
  EXPECT_EQ(job.partition, "gpu");
  EXPECT_TRUE(job.pending());
  EXPECT_FALSE(job.running());
  EXPECT_FALSE(job.ended());
  EXPECT_EQ(jl::slurm::pending_words(job),
            "PENDING (Resources), start expected 2026-12-07T20:15:00");

  auto priority = jl::slurm::parse_job_state(
      "@@N squeue 0\n42|PENDING|Priority|N/A||1:00:00|1:00:00|0:00|gpu\n", "N", "42");
  EXPECT_EQ(priority.start, "");
  EXPECT_EQ(jl::slurm::pending_words(priority), "PENDING (Priority)");

  auto booting = jl::slurm::parse_job_state(
      "@@N squeue 0\n42|CONFIGURING|None|2026-12-07T20:01:00|jltb-node1|59:59|1:00:00|0:01|gpu\n"
      "@@N node\n" +
          std::string(kNodeLine),
      "N", "42");
  EXPECT_TRUE(booting.pending());
  EXPECT_EQ(jl::slurm::pending_words(booting),
            "CONFIGURING (the node boots), start expected 2026-12-07T20:01:00");
}

TEST(SlurmJob, RunningWithItsNodesAddress) {
  auto job = jl::slurm::parse_job_state(
      "@@N squeue 0\n42|RUNNING|None|2026-12-07T20:01:00|jltb-node1|59:30|1:00:00|0:30|gpu\n"
      "@@N node\n" +
          std::string(kNodeLine),
      "N", "42");
  EXPECT_TRUE(job.known);
  EXPECT_TRUE(job.running());
  EXPECT_FALSE(job.pending());
  EXPECT_FALSE(job.ended());
  EXPECT_EQ(job.node, "jltb-node1");
  EXPECT_EQ(job.node_addr, "172.30.7.11");
  EXPECT_EQ(job.time_left, "59:30");
  EXPECT_EQ(job.time_limit, "1:00:00");
  EXPECT_EQ(job.elapsed, "0:30");
  EXPECT_FALSE(job.from_accounting);

  // Without scontrol's line: the node's name.
  auto bare = jl::slurm::parse_job_state(
      "@@N squeue 0\n42|RUNNING|None|2026-12-07T20:01:00|jltb-node1|59:30|1:00:00|0:30|gpu\n"
      "@@N node\nNode jltb-node1 not found\n",
      "N", "42");
  EXPECT_EQ(bare.node_addr, "jltb-node1");

  // Found by name: the first line, whatever its id.
  auto found = jl::slurm::parse_job_state(
      "@@N squeue 0\n57|RUNNING|None|2026-12-07T20:01:00|jltb-node1|59:30|1:00:00|0:30|gpu\n"
      "@@N node\n" +
          std::string(kNodeLine),
      "N", "");
  EXPECT_EQ(found.id, "57");
  EXPECT_TRUE(found.running());
  EXPECT_EQ(found.node_addr, "172.30.7.11");

  // With an id, another job's line does not count.
  auto other = jl::slurm::parse_job_state(
      "@@N squeue 0\n57|RUNNING|None|2026-12-07T20:01:00|jltb-node1|59:30|1:00:00|0:30|gpu\n", "N",
      "42");
  EXPECT_FALSE(other.known);
}

TEST(SlurmJob, TimeoutFromAccounting) {
  auto job = jl::slurm::parse_job_state(
      std::string(kGone) +
          "@@N sacct\n"
          "42|TIMEOUT|00:01:07|2026-12-07T20:01:00|2026-12-07T20:02:07|jltb-node1|TimeLimit|0:0|"
          "00:01:00|gpu\n"
          "@@N scontrol\nslurm_load_jobs error: Invalid job id specified\n@@N end\n",
      "N", "42");
  EXPECT_TRUE(job.known);
  EXPECT_TRUE(job.from_accounting);
  EXPECT_EQ(job.state, "TIMEOUT");
  EXPECT_TRUE(job.ended());
  EXPECT_FALSE(job.running());
  EXPECT_EQ(job.elapsed, "00:01:07");
  EXPECT_EQ(job.time_limit, "00:01:00");
  EXPECT_EQ(job.exit_code, "0:0");
  EXPECT_EQ(job.node, "jltb-node1");
  EXPECT_EQ(jl::slurm::ended_words(job), "job 42 ended: TIMEOUT after 0:01:07");

  // Still listed by squeue for a while after its end: the record comes from sacct all the same.
  auto listed = jl::slurm::parse_job_state(
      "@@N squeue 0\n42|TIMEOUT|TimeLimit|2026-12-07T20:01:00|jltb-node1|0:00|1:00|1:07|gpu\n"
      "@@N sacct\n"
      "42|TIMEOUT|00:01:07|2026-12-07T20:01:00|2026-12-07T20:02:07|jltb-node1|TimeLimit|0:0|"
      "00:01:00|gpu\n"
      "@@N scontrol\nJobId=42 JobName=jl-demo JobState=TIMEOUT Reason=TimeLimit RunTime=00:01:07\n"
      "@@N end\n",
      "N", "42");
  EXPECT_TRUE(listed.from_accounting);
  EXPECT_EQ(jl::slurm::ended_words(listed), "job 42 ended: TIMEOUT after 0:01:07");
}

TEST(SlurmJob, CancelledByAUser) {
  auto job = jl::slurm::parse_job_state(
      std::string(kGone) +
          "@@N sacct\n"
          "42|CANCELLED by 4310|00:00:20|2026-12-07T20:01:00|2026-12-07T20:01:20|jltb-node1|None|"
          "0:0|01:00:00|gpu\n"
          "@@N scontrol\nslurm_load_jobs error: Invalid job id specified\n@@N end\n",
      "N", "42");
  EXPECT_EQ(job.state, "CANCELLED");
  EXPECT_TRUE(job.ended());
  EXPECT_EQ(jl::slurm::ended_words(job), "job 42 ended: CANCELLED after 0:00:20");
}

TEST(SlurmJob, NodeFailFromScontrolWhenAccountingFails) {
  auto job = jl::slurm::parse_job_state(
      std::string(kGone) +
          "@@N sacct\n"
          "sacct: error: Problem talking to the database: Connection refused\n"
          "@@N scontrol\n"
          "JobId=42 JobName=jl-demo UserId=alice(4310) GroupId=alice(4310) MCS_label=N/A "
          "Priority=1 Nice=0 Account=jltb-lab QOS=normal JobState=NODE_FAIL Reason=NodeDown "
          "Dependency=(null) Requeue=0 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 "
          "RunTime=00:02:11 TimeLimit=01:00:00 TimeMin=N/A SubmitTime=2026-12-07T20:00:58 "
          "EligibleTime=2026-12-07T20:00:58 AccrueTime=2026-12-07T20:00:58 "
          "StartTime=2026-12-07T20:01:00 EndTime=2026-12-07T20:03:11 Deadline=N/A "
          "Partition=gpu AllocNode:Sid=jltb-login:2211 ReqNodeList=(null) ExcNodeList=(null) "
          "NodeList=jltb-node1 BatchHost=jltb-node1 NumNodes=1 NumCPUs=1 NumTasks=1 "
          "CPUs/Task=1 TRES=cpu=1,mem=100M,node=1,billing=1 Command=(null) "
          "WorkDir=/home/alice/my work StdErr=/dev/null StdIn=/dev/null StdOut=/dev/null Power=\n"
          "@@N end\n",
      "N", "42");
  EXPECT_TRUE(job.known);
  EXPECT_FALSE(job.from_accounting);
  EXPECT_EQ(job.state, "NODE_FAIL");
  EXPECT_EQ(job.reason, "NodeDown");
  EXPECT_EQ(job.node, "jltb-node1");
  EXPECT_EQ(job.partition, "gpu");
  EXPECT_EQ(job.time_limit, "01:00:00");
  EXPECT_EQ(job.start, "2026-12-07T20:01:00");
  EXPECT_TRUE(job.ended());
  EXPECT_EQ(jl::slurm::ended_words(job),
            "job 42 ended: NODE_FAIL after 0:02:11 (node jltb-node1 down)");
}

TEST(SlurmJob, FailedWithAnExitCode) {
  auto job = jl::slurm::parse_job_state(
      std::string(kGone) +
          "@@N sacct\n"
          "42|FAILED|00:00:05|2026-12-07T20:01:00|2026-12-07T20:01:05|jltb-node1|None|1:0|"
          "01:00:00|gpu\n@@N end\n",
      "N", "42");
  EXPECT_EQ(jl::slurm::ended_words(job), "job 42 ended: FAILED after 0:00:05 (exit 1:0)");
}

TEST(SlurmJob, Unknown) {
  auto job = jl::slurm::parse_job_state(
      std::string(kGone) +
          "@@N sacct\n@@N scontrol\nslurm_load_jobs error: Invalid job id specified\n@@N end\n",
      "N", "42");
  EXPECT_FALSE(job.known);
  EXPECT_FALSE(job.ended());
  EXPECT_FALSE(job.pending());
  EXPECT_FALSE(job.running());
  EXPECT_EQ(jl::slurm::ended_words(job),
            "job 42 is unknown to Slurm (it ended long ago, or was never submitted)");

  // No live job by that name.
  auto none = jl::slurm::parse_job_state("@@N squeue 0\n", "N", "");
  EXPECT_FALSE(none.known);
  auto missing = jl::slurm::parse_job_state("@@N missing squeue\n", "N", "42");
  EXPECT_FALSE(missing.known);
  EXPECT_EQ(jl::slurm::ended_words(missing),
            "job 42: Slurm did not answer (no squeue on the login node)");

  // Unknown because the controller did not answer: the words say so.
  auto down = jl::slurm::parse_job_state(
      "@@N squeue 1\nslurm_load_jobs error: Unable to contact slurm controller (connect "
      "failure)\n@@N sacct\nsacct: error: Problem talking to the database: Connection refused\n"
      "@@N scontrol\nslurm_load_jobs error: Unable to contact slurm controller (connect "
      "failure)\n@@N end\n",
      "N", "42");
  EXPECT_FALSE(down.known);
  EXPECT_EQ(jl::slurm::ended_words(down),
            "job 42: Slurm did not answer (slurm_load_jobs error: Unable to contact slurm "
            "controller (connect failure))");
}

TEST(SlurmJob, FormatElapsed) {
  using jl::slurm::format_elapsed;
  EXPECT_EQ(format_elapsed("00:01:03"), "0:01:03");
  EXPECT_EQ(format_elapsed("12:01:03"), "12:01:03");
  EXPECT_EQ(format_elapsed("1-02:00:00"), "1-2:00:00");
  EXPECT_EQ(format_elapsed("05:07"), "0:05:07");
  EXPECT_EQ(format_elapsed("0:00"), "0:00:00");
  EXPECT_EQ(format_elapsed("UNLIMITED"), "UNLIMITED");
  EXPECT_EQ(format_elapsed(""), "");
}

// ---------------------------------------------------------------------------------------------
// scancel, srun and the commands' shapes

TEST(SlurmCancel, WhatScancelSaid) {
  using jl::slurm::parse_cancel;
  std::string error = "untouched";
  EXPECT_TRUE(parse_cancel("@@N cancel 0\n", "N", &error));
  EXPECT_TRUE(
      parse_cancel("@@N cancel 1\nscancel: error: Kill job error on job id 42: "
                   "Job/step already completing or completed\n",
                   "N", &error));
  EXPECT_TRUE(parse_cancel(
      "@@N cancel 1\nscancel: error: Kill job error on job id 42: Invalid job id specified\n", "N",
      &error));
  EXPECT_FALSE(
      parse_cancel("@@N cancel 1\nscancel: error: Kill job error on job id 42: Access/"
                   "permission denied\n",
                   "N", &error));
  EXPECT_EQ(error, "Kill job error on job id 42: Access/permission denied");
  EXPECT_FALSE(parse_cancel("@@N missing scancel\n", "N", &error));
  EXPECT_FALSE(error.empty());
  EXPECT_FALSE(parse_cancel("", "N", nullptr));
}

TEST(SlurmCommands, Shapes) {
  EXPECT_EQ(jl::slurm::step_words("42"),
            (std::vector<std::string>{"srun", "--overlap", "--jobid=42", "--nodes=1", "--ntasks=1",
                                      "--quiet"}));
  EXPECT_EQ(jl::slurm::handoff_dir_words("42"), "/tmp/jl-$(id -u)/job-42");
  EXPECT_FALSE(jl::slurm::batch_script().empty());

  auto words = jl::shell::split(jl::slurm::probe_and_start_command("N1", "42"));
  ASSERT_EQ(words.size(), 8U);
  EXPECT_EQ(words[0], "sh");
  EXPECT_EQ(words[4], "N1");
  EXPECT_EQ(words[5], "42");
  EXPECT_TRUE(words[6].starts_with("n=$1\n")) << words[6].substr(0, 40);
  EXPECT_EQ(words[7], "plan");

  auto state = jl::shell::split(jl::slurm::job_state_command("N1", "42"));
  ASSERT_EQ(state.size(), 7U);
  EXPECT_EQ(std::vector<std::string>(state.begin() + 4, state.end()),
            (std::vector<std::string>{"N1", "42", ""}));
  auto find = jl::shell::split(jl::slurm::find_job_command("N1", "demo"));
  ASSERT_EQ(find.size(), 7U);
  EXPECT_EQ(std::vector<std::string>(find.begin() + 4, find.end()),
            (std::vector<std::string>{"N1", "", "jl-demo"}));

  auto config = jl::slurm::config_command("42");
  EXPECT_TRUE(config.starts_with("srun --overlap --jobid=42 --nodes=1 --ntasks=1 --quiet sh -c "))
      << config.substr(0, 80);
  EXPECT_TRUE(config.ends_with(" </dev/null 2>&1"));

  auto doctor = jl::shell::split(jl::slurm::doctor_command("N1", std::nullopt));
  ASSERT_EQ(doctor.size(), 6U);
  EXPECT_EQ(doctor[5], "");
  EXPECT_EQ(jl::shell::split(jl::slurm::doctor_command("N1", "gpu")).back(), "gpu");
  EXPECT_THROW((void)jl::slurm::log_command("N1", "42", "/l", -1, false), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// jl doctor

TEST(SlurmDoctor, FactsFromTheSections) {
  const std::string out =
      "@@N tools\nsbatch yes\nsqueue yes\nsrun yes\nscancel yes\nsacct no\nscontrol yes\n"
      "sinfo yes\n"
      "@@N version\nslurm 22.05.8\n"
      "@@N partition \n"
      "@@N sinfo 0\ndebug|up|30:00|1|(null)\ngpu*|up|2:00:00|1|gpu:1\ngpu*|up|2:00:00|1|gpu:2\n"
      "long|drain|7-00:00:00|4|(null)\n"
      "@@N assoc 0\n"
      "jltb-lab||02:00:00||gres/gpu=2|||normal\n"
      "jltb-lab||02:00:00||gres/gpu=2|||normal\n"
      "other|gpu||cpu=4|||10|normal,high\n"
      "plain|||||||\n"
      "@@N end\n";
  auto r = jl::slurm::parse_doctor(out, "N");
  EXPECT_EQ(r.missing_tools, (std::vector<std::string>{"sacct"}));
  EXPECT_EQ(r.version, "slurm 22.05.8");
  EXPECT_TRUE(r.partition_found);
  EXPECT_EQ(r.partition, "gpu");
  EXPECT_EQ(r.partition_state, "up");
  EXPECT_EQ(r.partition_time_limit, "2:00:00");
  EXPECT_EQ(r.partition_nodes, "2");
  EXPECT_EQ(r.partition_gres, "gpu:1,gpu:2");
  EXPECT_EQ(r.partitions, (std::vector<std::string>{"debug", "gpu", "long"}));
  EXPECT_TRUE(r.accounting);
  EXPECT_EQ(r.associations,
            (std::vector<std::string>{
                "account jltb-lab: MaxWall 2:00:00, GrpTRES gres/gpu=2, QOS normal",
                "account other (partition gpu): MaxTRES cpu=4, MaxSubmit 10, QOS normal,high",
                "account plain"}));

  // A partition asked for by name; sacctmgr without a database.
  const std::string asked =
      "@@N tools\n@@N version\n@@N partition long\n"
      "@@N sinfo 0\ngpu*|up|2:00:00|1|gpu:1\nlong|drain|7-00:00:00|4|(null)\n"
      "@@N assoc 1\nsacctmgr: error: Problem talking to the database: Connection refused\n"
      "@@N end\n";
  auto a = jl::slurm::parse_doctor(asked, "N");
  EXPECT_TRUE(a.partition_found);
  EXPECT_EQ(a.partition, "long");
  EXPECT_EQ(a.partition_state, "drain");
  EXPECT_EQ(a.partition_time_limit, "7-00:00:00");
  EXPECT_EQ(a.partition_nodes, "4");
  EXPECT_EQ(a.partition_gres, "");
  EXPECT_FALSE(a.accounting);
  EXPECT_EQ(a.accounting_error, "Problem talking to the database: Connection refused");

  auto nosuch = jl::slurm::parse_doctor(
      "@@N partition nosuch\n@@N sinfo 0\ngpu*|up|2:00:00|1|gpu:1\n@@N end\n", "N");
  EXPECT_FALSE(nosuch.partition_found);
  EXPECT_EQ(nosuch.partition, "nosuch");
  EXPECT_EQ(nosuch.partitions, (std::vector<std::string>{"gpu"}));
}

// ---------------------------------------------------------------------------------------------
// The scripts, run for real with stand-ins for Slurm's tools

// srun: notes its arguments, skips its options and runs the command here, stdin passed on.
constexpr const char* kFakeSrun = R"SH(#!/bin/sh
printf '%s\0' "$@" >"$FAKE_DIR/srun-args"
while [ $# -gt 0 ]; do
  case $1 in --*) shift ;; *) break ;; esac
done
exec "$@"
)SH";

// sbatch: notes its arguments and the script on its stdin; refuses like Slurm on demand.
constexpr const char* kFakeSbatch = R"SH(#!/bin/sh
if [ "$1" = --version ]; then echo "slurm 22.05.8"; exit 0; fi
printf '%s\0' "$@" >"$FAKE_DIR/sbatch-args"
/bin/cat >"$FAKE_DIR/sbatch-stdin"
if [ -f "$FAKE_DIR/sbatch-refuse" ]; then
  echo "sbatch: error: invalid partition specified: nosuch" >&2
  echo "sbatch: error: Batch job submission failed: Invalid partition name specified" >&2
  exit 1
fi
echo 4242
)SH";

// squeue as log_command asks it (-h -j ID -t R -o %i): the id while the job runs.
constexpr const char* kFakeSqueue = R"SH(#!/bin/sh
printf '%s\0' "$@" >"$FAKE_DIR/squeue-args"
[ -f "$FAKE_DIR/running" ] && /bin/cat "$FAKE_DIR/running"
exit 0
)SH";

constexpr const char* kFakeScancel = R"SH(#!/bin/sh
printf '%s\0' "$@" >"$FAKE_DIR/scancel-args"
echo "scancel: error: Kill job error on job id $1: Job/step already completing or completed" >&2
exit 1
)SH";

constexpr const char* kFakeSinfo = R"SH(#!/bin/sh
echo 'gpu*|up|2:00:00|1|gpu:1'
echo 'debug|up|30:00|1|(null)'
)SH";

constexpr const char* kFakeSacctmgr = R"SH(#!/bin/sh
printf '%s\0' "$@" >"$FAKE_DIR/sacctmgr-args"
echo 'jltb-lab||02:00:00||gres/gpu=2|||normal'
)SH";

// Jupyter: notes its arguments, its token and its pid, writes a runtime file like
// jupyter_server's and stays.
constexpr const char* kFakeJupyter = R"SH(#!/bin/sh
d=$FAKE_DIR
printf '%s\0' "$@" >"$d/jupyter-args"
printf '%s' "$JUPYTER_TOKEN" >"$d/jupyter-token"
printf '%s' "$$" >"$d/jupyter-pid"
pwd >"$d/jupyter-pwd"
port=0 ip=
for a; do
  case $a in
    --port=*) port=${a#--port=} ;;
    --ip=*) ip=${a#--ip=} ;;
  esac
done
echo "[I ServerApp] Jupyter Server 2.14.0 is running"
f=$JUPYTER_RUNTIME_DIR/jpserver-$$.json
printf '{"base_url": "/", "hostname": "%s", "password": false, "pid": %d, "port": %d, "secure": false, "sock": "", "token": "%s", "version": "2.14.0"}' \
  "$ip" "$$" "$port" "$JUPYTER_TOKEN" >"$f.part"
mv "$f.part" "$f"
exec sleep 30
)SH";

// Polls `done` every 10 ms for up to `limit`.
template <typename F>
bool eventually(F done, std::chrono::milliseconds limit = std::chrono::milliseconds(3000)) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// The batch script as Slurm runs it: in the background, with SLURM_JOB_ID set.
class BatchJob {
 public:
  BatchJob(const char* shell, const std::map<std::string, std::string>& env,
           const std::string& log) {
    std::vector<std::string> env_strings;
    for (const auto& [k, v] : env) {
      env_strings.push_back(k + "=" + v);
    }
    std::string script(jl::slurm::batch_script());
    m_pid = ::fork();
    if (m_pid == 0) {
      ::setpgid(0, 0);
      int null = ::open("/dev/null", O_RDONLY);
      int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(null, 0);
      ::dup2(out, 1);
      ::dup2(out, 2);
      std::vector<char*> envp;
      for (auto& s : env_strings) {
        envp.push_back(s.data());
      }
      envp.push_back(nullptr);
      std::string sh = "sh";
      std::string dash_c = "-c";
      std::vector<char*> argv = {sh.data(), dash_c.data(), script.data(), nullptr};
      ::execve(shell, argv.data(), envp.data());
      ::_exit(127);
    }
  }
  ~BatchJob() {
    if (m_pid > 0 && !m_reaped) {
      ::kill(-m_pid, SIGKILL);
      ::waitpid(m_pid, nullptr, 0);
    }
  }
  BatchJob(const BatchJob&) = delete;
  BatchJob& operator=(const BatchJob&) = delete;

  // SIGTERM, as scancel or the time limit sends it; the exit status (-1: it did not end).
  int terminate() {
    ::kill(m_pid, SIGTERM);
    int status = 0;
    bool ended = eventually([&] { return ::waitpid(m_pid, &status, WNOHANG) == m_pid; });
    if (!ended) {
      return -1;
    }
    m_reaped = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t m_pid = -1;
  bool m_reaped = false;
};

// Each test runs under dash and under busybox sh: `sh` on the scripts' PATH is the one.
class SlurmScripts : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    for (const auto& d : {bin, fake, home, runtime, state, work}) {
      ASSERT_EQ(::mkdir(d.c_str(), 0700), 0) << d;
    }
    write_file(bin + "/srun", kFakeSrun, 0755);
    write_file(bin + "/sbatch", kFakeSbatch, 0755);
    write_file(bin + "/squeue", kFakeSqueue, 0755);
    write_file(bin + "/scancel", kFakeScancel, 0755);
    write_file(bin + "/sinfo", kFakeSinfo, 0755);
    write_file(bin + "/sacctmgr", kFakeSacctmgr, 0755);
    write_file(bin + "/jupyter-lab", kFakeJupyter, 0755);
    ASSERT_EQ(::symlink(GetParam(), (bin + "/sh").c_str()), 0);
    // A job id of this test's own, so that its handover directory is too.
    job_id = std::to_string(::getpid()) +
             std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000);
    handoff = "/tmp/jl-" + std::to_string(::getuid()) + "/job-" + job_id;
  }
  void TearDown() override {
    if (exists(fake + "/jupyter-pid")) {
      auto pid = static_cast<pid_t>(std::stol(read_file(fake + "/jupyter-pid")));
      if (pid > 1 && cmdline_of(pid).find("sleep") != std::string::npos) {
        ::kill(pid, SIGKILL);
      }
    }
    std::error_code ec;
    std::filesystem::remove_all(handoff, ec);
  }

  std::map<std::string, std::string> env() const {
    return {
        {"PATH", bin + ":/usr/bin:/bin"}, {"HOME", home},     {"JUPYTER_RUNTIME_DIR", runtime},
        {"XDG_STATE_HOME", state},        {"FAKE_DIR", fake},
    };
  }

  jl_test::TempDir tmp;
  std::string bin = tmp / "bin";
  std::string fake = tmp / "fake";
  std::string home = tmp / "home dir";
  std::string runtime = tmp / "rt dir 'q'";
  std::string state = tmp / "state";
  std::string work = tmp / "work $dir";
  std::string nonce = "5b9e2c7a1f3d";
  std::string job_id;
  std::string handoff;
};

TEST_P(SlurmScripts, TheJobRunsTheServerItIsHandedAndEndsIt) {
  auto e = env();
  e["SLURM_JOB_ID"] = job_id;
  BatchJob job(GetParam(), e, tmp / "job.log");
  ASSERT_TRUE(eventually([&] { return exists(handoff); })) << read_file(tmp / "job.log");
  struct stat st {};
  ASSERT_EQ(::stat(handoff.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700U);

  jl::probe::StartSpec spec;
  spec.app = jl::jupyter::App::lab;
  spec.ip = "127.0.0.1";
  spec.port = 18877;
  spec.dir = work;
  spec.timeout_s = 10;
  spec.extra_args = {"--ServerApp.root_dir=/a b", "it's"};
  const std::string token = "3f9c2a7be0d14c8e9a6f5b2d7c1e0a4f8b3d6e9c2a5f7b1d";
  auto run = run_sh(jl::slurm::probe_and_start_command(nonce, job_id),
                    jl::probe::start_plan(spec, token), env(), std::chrono::seconds(20));
  ASSERT_FALSE(run.timed_out);
  auto r = jl::probe::parse_start(run.out, nonce);
  ASSERT_EQ(r.outcome, jl::probe::StartResult::Outcome::ready) << run.out;
  EXPECT_EQ(r.exec_rc, 0);
  ASSERT_TRUE(exists(fake + "/jupyter-pid"));
  const auto pid = static_cast<pid_t>(std::stol(read_file(fake + "/jupyter-pid")));
  EXPECT_EQ(r.pid, pid);
  ASSERT_TRUE(r.runtime.has_value());
  EXPECT_EQ(r.runtime->pid, pid);
  EXPECT_EQ(r.runtime->token, token);
  EXPECT_EQ(r.runtime->port, 18877);
  EXPECT_EQ(r.log, state + "/jl/jupyter-18877.log");
  EXPECT_NE(read_file(r.log).find("is running"), std::string::npos);

  // srun ran the step in the job; the server got the token in its environment, and in no argv.
  EXPECT_EQ(split_nul(read_file(fake + "/srun-args")),
            (std::vector<std::string>{
                "--overlap", "--jobid=" + job_id, "--nodes=1", "--ntasks=1", "--quiet", "sh", "-c",
                jl::shell::split(jl::slurm::probe_and_start_command(nonce, job_id))[6], "jl", nonce,
                "plan", job_id}));
  EXPECT_EQ(read_file(fake + "/jupyter-token"), token);
  std::vector<std::string> expected = spec.extra_args;
  for (const char* a :
       {"--no-browser", "--ip=127.0.0.1", "--port=18877", "--ServerApp.port_retries=0"}) {
    expected.emplace_back(a);
  }
  EXPECT_EQ(split_nul(read_file(fake + "/jupyter-args")), expected);
  EXPECT_EQ(read_file(fake + "/jupyter-pwd"), work + "\n");
  EXPECT_EQ(read_file(fake + "/srun-args").find(token), std::string::npos);
  EXPECT_EQ(cmdline_of(pid).find(token), std::string::npos);
  EXPECT_TRUE(jl_test::process_alive(pid));
  EXPECT_FALSE(exists(handoff + "/token"));
  EXPECT_TRUE(exists(handoff + "/pid"));

  // The job's end (scancel, the time limit) ends the server and removes the directory.
  EXPECT_EQ(job.terminate(), 143);
  EXPECT_FALSE(jl_test::process_alive(pid));
  EXPECT_FALSE(exists(handoff));
}

TEST_P(SlurmScripts, AStartWithoutTheJobsDirectoryFails) {
  jl::probe::StartSpec spec;
  spec.ip = "127.0.0.1";
  spec.port = 18878;
  spec.timeout_s = 2;
  auto run = run_sh(jl::slurm::probe_and_start_command(nonce, job_id),
                    jl::probe::start_plan(spec, "tok"), env(), std::chrono::seconds(20));
  auto r = jl::probe::parse_start(run.out, nonce);
  EXPECT_EQ(r.outcome, jl::probe::StartResult::Outcome::failed) << run.out;
  EXPECT_EQ(r.detail, "handoff " + handoff);
  EXPECT_FALSE(exists(fake + "/jupyter-args"));
}

TEST_P(SlurmScripts, SubmitFeedsTheBatchScriptToSbatch) {
  const std::vector<std::string> args = {"--job-name=jl-demo", "--comment=it's $x"};
  auto run = run_sh(jl::slurm::submit_command(nonce, args), {}, env());
  auto s = jl::slurm::parse_submit(run.out, nonce);
  EXPECT_EQ(s.job_id, "4242") << run.out;
  EXPECT_EQ(split_nul(read_file(fake + "/sbatch-args")),
            (std::vector<std::string>{"--parsable", "--job-name=jl-demo", "--comment=it's $x"}));
  EXPECT_EQ(read_file(fake + "/sbatch-stdin"), jl::slurm::batch_script());

  write_file(fake + "/sbatch-refuse", "");
  auto refused =
      jl::slurm::parse_submit(run_sh(jl::slurm::submit_command(nonce, args), {}, env()).out, nonce);
  EXPECT_EQ(refused.job_id, "");
  EXPECT_EQ(refused.error,
            "Invalid partition name specified (invalid partition specified: nosuch)");

  // A PATH with a shell and no sbatch.
  const std::string nosbatch = tmp / "nosbatch";
  ASSERT_EQ(::mkdir(nosbatch.c_str(), 0700), 0);
  ASSERT_EQ(::symlink(GetParam(), (nosbatch + "/sh").c_str()), 0);
  auto e = env();
  e["PATH"] = nosbatch;
  auto missing =
      jl::slurm::parse_submit(run_sh(jl::slurm::submit_command(nonce, args), {}, e).out, nonce);
  EXPECT_TRUE(missing.missing);
}

TEST_P(SlurmScripts, CancelOfAJobThatEndedAlready) {
  auto run = run_sh(jl::slurm::cancel_command(nonce, "42"), {}, env());
  std::string error;
  EXPECT_TRUE(jl::slurm::parse_cancel(run.out, nonce, &error)) << run.out;
  EXPECT_EQ(split_nul(read_file(fake + "/scancel-args")), (std::vector<std::string>{"42"}));
}

TEST_P(SlurmScripts, LogsAsAStepWhileTheJobRunsElseOnTheLoginNode) {
  const std::string log = tmp / "jupyter 1.log";
  write_file(log, "one\ntwo\nthree\n");
  auto read = [&](const std::string& id) {
    jl::logs::Reader reader(nonce);
    auto lines =
        reader.feed(run_sh(jl::slurm::log_command(nonce, id, log, 2, false), {}, env()).out);
    EXPECT_EQ(reader.outcome(), jl::logs::Reader::Outcome::ended);
    return lines;
  };
  EXPECT_EQ(read("42"), (std::vector<std::string>{"two", "three"}));
  EXPECT_FALSE(exists(fake + "/srun-args"));
  EXPECT_EQ(split_nul(read_file(fake + "/squeue-args")),
            (std::vector<std::string>{"-h", "-j", "42", "-t", "R", "-o", "%i"}));

  write_file(fake + "/running", "42\n");
  EXPECT_EQ(read("42"), (std::vector<std::string>{"two", "three"}));
  auto srun = split_nul(read_file(fake + "/srun-args"));
  ASSERT_GE(srun.size(), 6U);
  EXPECT_EQ(std::vector<std::string>(srun.begin(), srun.begin() + 6),
            (std::vector<std::string>{"--overlap", "--jobid=42", "--nodes=1", "--ntasks=1",
                                      "--quiet", "sh"}));
  EXPECT_EQ(std::vector<std::string>(srun.end() - 4, srun.end()),
            (std::vector<std::string>{nonce, log, "2", "0"}));
}

TEST_P(SlurmScripts, Doctor) {
  // Only the stand-ins and `id` on the PATH: sacct and scontrol are missing.
  ASSERT_EQ(::symlink("/usr/bin/id", (bin + "/id").c_str()) == 0 ||
                ::symlink("/bin/id", (bin + "/id").c_str()) == 0,
            true);
  auto e = env();
  e["PATH"] = bin;
  auto run = run_sh(jl::slurm::doctor_command(nonce, std::nullopt), {}, e);
  auto r = jl::slurm::parse_doctor(run.out, nonce);
  EXPECT_EQ(r.missing_tools, (std::vector<std::string>{"sacct", "scontrol"})) << run.out;
  EXPECT_EQ(r.version, "slurm 22.05.8");
  EXPECT_TRUE(r.partition_found);
  EXPECT_EQ(r.partition, "gpu");
  EXPECT_EQ(r.partitions, (std::vector<std::string>{"gpu", "debug"}));
  EXPECT_TRUE(r.accounting);
  EXPECT_EQ(r.associations,
            (std::vector<std::string>{
                "account jltb-lab: MaxWall 2:00:00, GrpTRES gres/gpu=2, QOS normal"}));
  auto sacctmgr = split_nul(read_file(fake + "/sacctmgr-args"));
  ASSERT_GE(sacctmgr.size(), 6U);
  EXPECT_TRUE(sacctmgr[5].starts_with("user=")) << sacctmgr[5];

  ::unlink((bin + "/sacctmgr").c_str());
  auto asked =
      jl::slurm::parse_doctor(run_sh(jl::slurm::doctor_command(nonce, "debug"), {}, e).out, nonce);
  EXPECT_EQ(asked.partition, "debug");
  EXPECT_EQ(asked.partition_time_limit, "30:00");
  EXPECT_FALSE(asked.accounting);
  EXPECT_EQ(asked.accounting_error, "sacctmgr: command not found");
}

INSTANTIATE_TEST_SUITE_P(Shells, SlurmScripts, ::testing::Values("/bin/dash", "/bin/busybox"),
                         [](const ::testing::TestParamInfo<const char*>& shell) {
                           return std::string(shell.param).substr(5);
                         });

}  // namespace

TEST(SlurmJob, TheReasonItWaitedForSaysNothingOfItsEnd) {
  // sacct keeps the last reason the job waited for; it is not why the job ended.
  auto job = jl::slurm::parse_job_state(
      "@@N squeue 1\nslurm_load_jobs error: Invalid job id specified\n"
      "@@N sacct\n76|NODE_FAIL|00:01:10|2026-12-07T19:52:00|2026-12-07T19:53:10|jltb-node2|"
      "AssocGrpGRES|0:0|00:30:00|gpu\n@@N scontrol\n@@N end\n",
      "N", "76");
  EXPECT_TRUE(job.from_accounting);
  EXPECT_EQ(jl::slurm::ended_words(job), "job 76 ended: NODE_FAIL after 0:01:10");
}

TEST(SlurmJob, PendingForEverOrOnlyWaiting) {
  jl::slurm::Job job;
  job.id = "9";
  job.known = true;
  job.state = "PENDING";
  for (const char* waits : {"Resources", "Priority", "AssocGrpGRES", "QOSGrpCpuLimit", "None"}) {
    job.reason = waits;
    EXPECT_EQ(jl::slurm::never_starts(job), std::nullopt) << waits;
  }
  for (const char* never : {"PartitionTimeLimit", "AssocMaxWallDurationPerJobLimit",
                            "QOSMaxGRESPerJob", "InvalidAccount", "BadConstraints"}) {
    job.reason = never;
    auto words = jl::slurm::never_starts(job);
    ASSERT_TRUE(words.has_value()) << never;
    EXPECT_TRUE(words->starts_with(std::string(never) + ": ")) << *words;
  }
  job.state = "RUNNING";
  job.reason = "PartitionTimeLimit";
  EXPECT_EQ(jl::slurm::never_starts(job), std::nullopt);
}

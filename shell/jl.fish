# fish completion for jl. Installed in fish's vendor completions as jl.fish; `jl completion fish`
# prints this same file.
#
# Hosts, known sessions and the running containers of a host come from
# `jl __complete hosts|sessions|containers`, run with the -H and -F already on the line, under a
# time limit, with errors discarded: completing never hangs the shell or prints into the prompt.

# Print what `jl __complete KIND` offers, one per line.
function __jl_ask --argument-names kind
    set -l tokens (commandline -opc)
    set -l pass
    set -l n (count $tokens)
    set -l i 2
    while test $i -le $n
        set -l t $tokens[$i]
        switch $t
            case --
                break
            case -H --host
                set i (math $i + 1)
                test $i -le $n; and set -a pass -H $tokens[$i]
            case -F --ssh-config
                set i (math $i + 1)
                test $i -le $n; and set -a pass -F $tokens[$i]
            case '--host=*'
                set -a pass -H (string replace -- --host= '' $t)
            case '--ssh-config=*'
                set -a pass -F (string replace -- --ssh-config= '' $t)
            case '-H?*' '-F?*'
                set -a pass (string sub -l 2 -- $t) (string sub -s 3 -- $t)
        end
        set i (math $i + 1)
    end
    if command -q timeout
        timeout -k 1 5 $tokens[1] $pass __complete $kind </dev/null 2>/dev/null
    else
        $tokens[1] $pass __complete $kind </dev/null 2>/dev/null
    end
end

# Print the command on the line ("-" when there is none yet), then how many arguments it has.
function __jl_parse
    set -l tokens (commandline -opc)
    set -l cmd -
    set -l args 0
    set -l skip 0
    for t in $tokens[2..-1]
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch $t
            case -H --host -F --ssh-config --port --dir --app --timeout --idle-timeout --local-port \
                -L -n --lines --image --gpus --volume --shm-size --ipc --user --workdir --env --pull \
                -p --partition --gres -t --time -c --cpus-per-task --mem -A --account --qos
                set skip 1
            case -v -e -q
                # Before a command -v is --verbose and -q --quiet; after start or up -v is
                # --volume (-e: --env, -q: --qos).
                if contains -- $cmd start up
                    set skip 1
                end
            case '-*'
            case '*'
                if test $cmd = -
                    set cmd $t
                else
                    set args (math $args + 1)
                end
        end
    end
    echo $cmd
    echo $args
end

# No command yet?
function __jl_no_command
    set -l p (__jl_parse)
    test $p[1] = -
end

# Is the command one of $argv?
function __jl_in
    set -l p (__jl_parse)
    contains -- $p[1] $argv
end

# Is the command one of $argv, still without its argument?
function __jl_arg
    set -l p (__jl_parse)
    contains -- $p[1] $argv; and test $p[2] -eq 0
end

complete -c jl -f

# Global options.
complete -c jl -s H -l host -x -a '(__jl_ask hosts)' -d 'Host: ssh alias, user@host or host:port'
complete -c jl -s F -l ssh-config -r -F -d 'ssh config file to read (as ssh -F)'
complete -c jl -l json -d 'Print results as JSON'
complete -c jl -s v -l verbose -d 'Show each step and its timing on stderr'
complete -c jl -s q -l quiet -d 'Print only what scripts need'
complete -c jl -l accept-changed-host-key -d 'Connect although the host key changed (this run only)'
complete -c jl -n __jl_no_command -l version -d 'Print the version'
complete -c jl -s h -l help -d 'Show help'

# Commands.
complete -c jl -n __jl_no_command -a start -d 'Start Jupyter in a running container'
complete -c jl -n __jl_no_command -a up -d 'Start + open: Jupyter, tunnel, browser'
complete -c jl -n __jl_no_command -a open -d 'Tunnel + browser for a started session'
complete -c jl -n __jl_no_command -a stop -d 'Shut Jupyter down and forget the session'
complete -c jl -n __jl_no_command -a rm -d 'Stop Jupyter and remove a container jl created'
complete -c jl -n __jl_no_command -a status -d 'Show known sessions'
complete -c jl -n __jl_no_command -a ls -d 'Show known sessions (as status)'
complete -c jl -n __jl_no_command -a gpus -d 'List the GPUs of a host and who uses them'
complete -c jl -n __jl_no_command -a forward -d 'Forward another port'
complete -c jl -n __jl_no_command -a close -d 'Close the tunnel of a session'
complete -c jl -n __jl_no_command -a doctor -d 'Check the host, docker and a container'
complete -c jl -n __jl_no_command -a logs -d 'Show the Jupyter log of a session'
complete -c jl -n __jl_no_command -a config -d 'Show the configuration jl uses'
complete -c jl -n __jl_no_command -a completion -d 'Print the completion script for a shell'

# Their options.
complete -c jl -n '__jl_in start up' -l port -x -d 'Port inside the container'
complete -c jl -n '__jl_in start up' -l dir -x -d 'Directory to serve, inside the container'
complete -c jl -n '__jl_in start up' -l app -x -a 'auto lab notebook server' -d 'Which Jupyter'
complete -c jl -n '__jl_in start up' -l timeout -x -d 'Seconds to wait for Jupyter to start'
complete -c jl -n '__jl_in start up' -l idle-timeout -x -a '30m 1h 2h 8h' -d 'Shut down idle kernels, then Jupyter'
complete -c jl -n '__jl_in start up' -l image -x -d 'Create the container from this image'
complete -c jl -n '__jl_in start up' -l gpus -x -a all -d 'GPUs of the container jl creates'
complete -c jl -n '__jl_in start up' -s v -l volume -x -d 'Mount HOST:CONTAINER (with --image)'
complete -c jl -n '__jl_in start up' -l shm-size -x -d 'Size of /dev/shm (with --image)'
complete -c jl -n '__jl_in start up' -l ipc -x -a host -d 'Share the host IPC namespace'
complete -c jl -n '__jl_in start up' -l user -x -a host -d 'host (the SSH user) or UID:GID'
complete -c jl -n '__jl_in start up' -l workdir -x -d 'Working directory in the container'
complete -c jl -n '__jl_in start up' -s e -l env -x -d 'Set K=V in the container'
complete -c jl -n '__jl_in start up' -l pull -x -a 'missing always never' -d 'When to pull the image'
complete -c jl -n '__jl_in start up' -l start-container -d 'Start the container if it is stopped'
complete -c jl -n '__jl_in start up' -l slurm -d 'Run Jupyter in a Slurm job (the host is a login node)'
complete -c jl -n '__jl_in start up' -l no-wait -d 'Submit the job, print its id and return'
complete -c jl -n '__jl_in start up' -s p -l partition -x -d 'The job\'s partition'
complete -c jl -n '__jl_in start up' -l gres -x -d 'Generic resources, e.g. gpu:1'
complete -c jl -n '__jl_in start up' -s t -l time -x -d 'Time limit: MM, H:MM:SS or D-H:MM:SS'
complete -c jl -n '__jl_in start up' -s c -l cpus-per-task -x -d 'CPUs for the job'
complete -c jl -n '__jl_in start up' -l mem -x -d 'Memory for the job, e.g. 16G'
complete -c jl -n '__jl_in start up' -s A -l account -x -d 'The account to charge'
complete -c jl -n '__jl_in start up' -s q -l qos -x -d 'The quality of service'
complete -c jl -n '__jl_in rm' -l force -d 'Remove it although jl did not create it'
complete -c jl -n '__jl_in up open' -l no-browser -d 'Do not open a browser'
complete -c jl -n '__jl_in up open forward' -l local-port -x -d 'Local port'
complete -c jl -n '__jl_in up open forward' -l foreground -d 'Stay in the foreground until Ctrl-C'
complete -c jl -n '__jl_in forward' -s L -x -d 'Like ssh -L: [LOCAL_PORT:]ADDR:PORT'
complete -c jl -n '__jl_in stop close' -l all -d 'Every session'
complete -c jl -n '__jl_in status ls' -l show-token -d 'Show the whole token'
complete -c jl -n '__jl_in logs' -s f -l follow -d 'Keep printing what Jupyter logs'
complete -c jl -n '__jl_in logs' -s n -l lines -x -d 'How many lines to show'
complete -c jl -n '__jl_in doctor' -l port -x -d 'Container port to check'
complete -c jl -n '__jl_in doctor' -l slurm -d 'Check the host as a Slurm login node'
complete -c jl -n '__jl_in doctor' -s p -l partition -x -d 'The partition to check (with --slurm)'

# Their arguments.
complete -c jl -n '__jl_arg start up rm' -a '(__jl_ask containers)' -d 'Running container'
complete -c jl -n '__jl_arg gpus' -a '(__jl_ask hosts)' -d 'Host'
complete -c jl -n '__jl_arg open stop close status ls logs doctor' -a '(__jl_ask sessions)' -d 'Known session'
complete -c jl -n '__jl_arg config' -a show -d 'Print the settings and where each comes from'
complete -c jl -n '__jl_arg config' -a path -d 'Print the config file path'
complete -c jl -n '__jl_arg completion' -a 'bash zsh fish'

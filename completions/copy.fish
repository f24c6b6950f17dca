complete -c copy -l max-render-size -d 'Fail (exit 1, nothing written) when a template renders to more than SIZE: a byte count, or with a K, M or G suffix (binary)' -r
complete -c copy -l chown -d 'Owner for copied entries: UID:GID, UID, :GID (names work where /etc/passwd and /etc/group exist). Default: the source\'s owner when run as root, else the current user' -r
complete -c copy -l chmod -d 'Permission bits for copied regular files: octal (0644) or symbolic (u+w, go-w, a=rX). Default: the source file\'s bits' -r
complete -c copy -s T -l template -d 'Replace {{NAME}} with the environment variable NAME where it is set (left as is where not), {{NAME:-default}} with a default when NAME is unset or empty. Files that are not UTF-8 text or contain NUL bytes are copied unchanged'
complete -c copy -l tera -d 'Render files as Tera templates instead, with the environment as context: {{ env.NAME }}, get_env(name="NAME", default="d"), filters, {% if %}, {% for %}, {% include "path/under/src" %}'
complete -c copy -l strict -d 'With -T: fail (exit 1, nothing written) if any {{NAME}} without a default names an unset variable; every such token is listed'
complete -c copy -s n -l dry-run -d 'Print what would be written and which tokens would be replaced; change nothing'
complete -c copy -s v -l verbose -d 'List each entry as it is written'
complete -c copy -s q -l quiet -d 'No summary line'
complete -c copy -s h -l help -d 'Print help (see more with \'--help\')'
complete -c copy -s V -l version -d 'Print version'

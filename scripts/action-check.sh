#!/usr/bin/env bash
# The GitHub Action of this repository (action.yml) runs this: install the released
# ecr-scan-gate-check of the action's version for the runner's architecture, verify it against
# the release's SHA256SUMS, run it with --output json, and write the step outputs.
#
# Inputs (action.yml passes each input as INPUT_<NAME>, `-` as `_`):
#   INPUT_REPOSITORY        repository name                    -> first argument
#   INPUT_TAG / INPUT_DIGEST  the image                        -> --tag / --digest
#   INPUT_WAIT              how long to wait for the scan      -> --wait
#   INPUT_POLL_INTERVAL     how often to look while waiting    -> --poll-interval
#   INPUT_POLICY_FILE       policy document in a file          -> --policy-file
#   INPUT_POLICY            policy document inline (JSON)      -> GATE_POLICY
#   INPUT_POLICY_PARAMETER  SSM parameter with the policy      -> GATE_POLICY_PARAMETER
#   INPUT_REGION            AWS region                         -> AWS_REGION
#   INPUT_SARIF_FILE        where to write the SARIF log too   -> --sarif-file
#   INPUT_VERSION           release to install (a v* tag); default: the action's own ref
#   INPUT_RELEASE_HOST      where the action's repository publishes its releases; default
#                           https://github.com, also on GitHub Enterprise Server (whose own
#                           GITHUB_SERVER_URL does not hold this project's releases)
# Context (action.yml): ACTION_REF, ACTION_REPOSITORY, ACTION_PATH.
#
# Outputs (to $GITHUB_OUTPUT): verdict (PASS, WARN, FAIL, ERROR, or empty when the image was
# not evaluated), digest (the digest judged), exit-meaning (deployable, blocked, undecided),
# message. The exit status is the check's: 0 deployable, 1 blocked, 2 undecided. The check
# itself appends the job summary to $GITHUB_STEP_SUMMARY; this script writes one only when the
# check printed no report (it refused its arguments).
#
# Overrides, for testing and for mirrors:
#   ECR_SCAN_GATE_CHECK_BIN       run this binary; nothing is downloaded or verified (tests)
#   ECR_SCAN_GATE_DOWNLOAD_BASE   download from this URL instead of the GitHub release
#                                 (a directory holding the binaries and SHA256SUMS); the
#                                 checksum is still verified
set -euo pipefail

die() {
    printf '::error title=ecr-scan-gate-check::%s\n' "$*" >&2
    write_outputs "" "" "undecided" "$*"
    exit 2
}

# write_outputs VERDICT DIGEST MEANING MESSAGE
write_outputs() {
    local out="${GITHUB_OUTPUT:-/dev/null}" eof
    eof="EOF_$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')"
    {
        printf 'verdict=%s\n' "$1"
        printf 'digest=%s\n' "$2"
        printf 'exit-meaning=%s\n' "$3"
        printf 'message<<%s\n%s\n%s\n' "$eof" "$4" "$eof"
    } >>"$out"
}

runner_arch() {
    case "${RUNNER_ARCH:-$(uname -m)}" in
        X64 | x86_64 | amd64) echo x86_64 ;;
        ARM64 | aarch64 | arm64) echo arm64 ;;
        *) die "no ecr-scan-gate-check release binary for the architecture ${RUNNER_ARCH:-$(uname -m)} (there are x86_64 and arm64)" ;;
    esac
}

# The action's ref and repository. github.action_ref is not always filled in for composite
# actions; the action's path on the runner (.../_actions/<owner>/<repo>/<ref>) is.
action_version() {
    if [[ -n "${INPUT_VERSION:-}" ]]; then echo "$INPUT_VERSION"; return; fi
    if [[ -n "${ACTION_REF:-}" ]]; then echo "$ACTION_REF"; return; fi
    if [[ "${ACTION_PATH:-}" == */_actions/*/*/* ]]; then basename "$ACTION_PATH"; return; fi
    echo ""
}

action_repository() {
    if [[ -n "${ACTION_REPOSITORY:-}" ]]; then echo "$ACTION_REPOSITORY"; return; fi
    if [[ "${ACTION_PATH:-}" == */_actions/*/*/* ]]; then
        local p="${ACTION_PATH%/*}"
        echo "$(basename "$(dirname "$p")")/$(basename "$p")"
        return
    fi
    echo ""
}

# install_check: downloads and verifies the binary; prints its path.
install_check() {
    local version repo host arch asset base dir expected actual
    version="$(action_version)"
    [[ "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$ ]] \
        || die "the action's version '${version}' is not a release tag (v1.2.3): pin the action to a release (uses: your-org/ecr-scan-gate@v1.2.3), or set the input version: v1.2.3"
    [[ "$(uname -s)" == Linux ]] || die "ecr-scan-gate-check is released for Linux runners only"
    arch="$(runner_arch)"
    asset="ecr-scan-gate-check-linux-${arch}"
    if [[ -n "${ECR_SCAN_GATE_DOWNLOAD_BASE:-}" ]]; then
        base="${ECR_SCAN_GATE_DOWNLOAD_BASE%/}"
    else
        repo="$(action_repository)"
        [[ "$repo" == */* ]] || die "cannot tell which repository the action comes from: set ECR_SCAN_GATE_DOWNLOAD_BASE"
        # Not GITHUB_SERVER_URL: on GitHub Enterprise Server that is the enterprise's own host,
        # which does not hold the releases (they are on github.com).
        host="${INPUT_RELEASE_HOST:-https://github.com}"
        host="${host%/}"
        [[ "$host" =~ ^https?://[^/[:space:]]+(/[^[:space:]]*)?$ ]] \
            || die "the input release-host '${host}' is not a URL such as https://github.com"
        base="${host}/${repo}/releases/download/${version}"
    fi
    dir="$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/ecr-scan-gate-check.XXXXXX")"
    echo "ecr-scan-gate-check: downloading $asset from $base" >&2
    curl -fsSL --retry 3 --retry-delay 2 -o "$dir/SHA256SUMS" "$base/SHA256SUMS" \
        || die "could not download $base/SHA256SUMS"
    curl -fsSL --retry 3 --retry-delay 2 -o "$dir/$asset" "$base/$asset" \
        || die "could not download $base/$asset"
    expected="$(awk -v f="$asset" '$2 == f || $2 == "*" f { print $1 }' "$dir/SHA256SUMS")"
    [[ "$expected" =~ ^[0-9a-f]{64}$ ]] || die "SHA256SUMS of $version has no single entry for $asset: refusing to run it"
    actual="$(sha256sum "$dir/$asset" | cut -d' ' -f1)"
    if [[ "$actual" != "$expected" ]]; then
        rm -f "$dir/$asset"
        die "checksum mismatch for $asset: SHA256SUMS says $expected, the download is $actual: refusing to run it"
    fi
    chmod 0755 "$dir/$asset"
    echo "ecr-scan-gate-check: $asset verified (sha256 $actual)" >&2
    echo "$dir/$asset"
}

main() {
    local bin rc args=() sources=0 out err report verdict digest meaning message
    command -v jq >/dev/null 2>&1 || die "jq is needed on the runner (GitHub's runners have it)"
    [[ -n "${INPUT_REPOSITORY:-}" ]] || die "the input repository is required"
    if [[ -n "${INPUT_TAG:-}" && -n "${INPUT_DIGEST:-}" ]]; then
        die "give the input tag or digest, not both"
    fi
    [[ -n "${INPUT_TAG:-}${INPUT_DIGEST:-}" ]] || die "give the input tag or digest"

    args+=("$INPUT_REPOSITORY")
    [[ -z "${INPUT_TAG:-}" ]] || args+=(--tag "$INPUT_TAG")
    [[ -z "${INPUT_DIGEST:-}" ]] || args+=(--digest "$INPUT_DIGEST")
    [[ -z "${INPUT_WAIT:-}" ]] || args+=(--wait "$INPUT_WAIT")
    [[ -z "${INPUT_POLL_INTERVAL:-}" ]] || args+=(--poll-interval "$INPUT_POLL_INTERVAL")

    # One policy source. An input replaces whatever GATE_POLICY* the job's environment has;
    # with no policy input, the environment's applies (or the default policy).
    [[ -z "${INPUT_POLICY_FILE:-}" ]] || sources=$((sources + 1))
    [[ -z "${INPUT_POLICY:-}" ]] || sources=$((sources + 1))
    [[ -z "${INPUT_POLICY_PARAMETER:-}" ]] || sources=$((sources + 1))
    ((sources <= 1)) || die "give at most one of the inputs policy-file, policy, policy-parameter"
    if ((sources == 1)); then
        unset GATE_POLICY GATE_POLICY_FILE GATE_POLICY_PARAMETER
        [[ -z "${INPUT_POLICY_FILE:-}" ]] || args+=(--policy-file "$INPUT_POLICY_FILE")
        [[ -z "${INPUT_POLICY:-}" ]] || export GATE_POLICY="$INPUT_POLICY"
        [[ -z "${INPUT_POLICY_PARAMETER:-}" ]] || export GATE_POLICY_PARAMETER="$INPUT_POLICY_PARAMETER"
    fi
    if [[ -n "${INPUT_REGION:-}" ]]; then
        export AWS_REGION="$INPUT_REGION" AWS_DEFAULT_REGION="$INPUT_REGION"
    fi
    [[ -z "${INPUT_SARIF_FILE:-}" ]] || args+=(--sarif-file "$INPUT_SARIF_FILE")
    args+=(--output json)

    if [[ -n "${ECR_SCAN_GATE_CHECK_BIN:-}" ]]; then
        bin="$ECR_SCAN_GATE_CHECK_BIN"
        echo "ecr-scan-gate-check: using $bin (ECR_SCAN_GATE_CHECK_BIN; nothing downloaded)" >&2
    else
        bin="$(install_check)"
    fi

    out="$(mktemp)"
    err="$(mktemp)"
    echo "ecr-scan-gate-check ${args[*]}" >&2
    set +e
    "$bin" "${args[@]}" >"$out" 2>"$err"
    rc=$?
    set -e
    cat "$err" >&2
    cat "$out"

    case "$rc" in
        0) meaning=deployable ;;
        1) meaning=blocked ;;
        *) meaning=undecided ;;
    esac
    # The report: {"decision", "exit_code", "message", "evaluation": {"verdict", "digest", ...}}.
    # When the check printed no JSON (e.g. bad arguments), the outputs say undecided and the
    # message is its last line on stderr.
    local reported=false
    if report="$(jq -c . "$out" 2>/dev/null)" && [[ -n "$report" ]]; then
        verdict="$(jq -r '.evaluation.verdict // ""' <<<"$report")"
        digest="$(jq -r '.evaluation.digest // ""' <<<"$report")"
        message="$(jq -r '.message // ""' <<<"$report")"
        reported=true
    else
        verdict="" digest=""
        message="$(grep -v '^[[:space:]]*$' "$err" | tail -n1 || true)"
    fi
    rm -f "$out" "$err"
    write_outputs "$verdict" "$digest" "$meaning" "$message"

    # The check appended its own summary (verdict, reasons, top findings, policy) when it ran.
    if [[ -n "${GITHUB_STEP_SUMMARY:-}" && "$reported" == false ]]; then
        {
            printf '### ecr-scan-gate-check: %s\n\n' "$meaning"
            printf -- '- image: `%s` %s\n' "$INPUT_REPOSITORY" "${INPUT_TAG:+tag \`$INPUT_TAG\`}${INPUT_DIGEST:+digest \`$INPUT_DIGEST\`}"
            printf -- '- verdict: %s\n- digest: `%s`\n- %s\n' "${verdict:-none}" "${digest:-unknown}" "$message"
        } >>"$GITHUB_STEP_SUMMARY"
    fi
    return "$rc"
}

main "$@"

"""Parsing HAProxy's runtime answers and forming its commands."""

from __future__ import annotations

import pytest

from godseye.live.haproxy_runtime import parse_servers_state, parse_show_stat, set_state_command, set_weight_command

STAT = (
    "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,"
    "hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,rtime\n"
    "edge,FRONTEND,,,0,3,4096,100,0,0,0,0,0,,,,,OPEN,,0,100,0,0,0,0,\n"
    "be_pos,aws-0,0,0,1,2,,468,0,0,,0,,0,0,133,266,no check,0,0,202,0,0,0,0,27\n"
    "be_pos,gcp-0,0,0,0,2,,1221,0,0,,0,,0,0,0,0,no check,120,0,1221,0,0,0,0,26\n"
    "be_pos,BACKEND,0,0,0,2,,1689,0,0,0,0,,0,0,133,266,UP,200,0,1423,0,0,0,0,26\n"
)

STATE = (
    "1\n"
    "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change\n"
    "3 be_pos 1 aws-0 127.0.1.10 2 0 0 68 12\n"
    "3 be_pos 2 aws-1 127.0.1.11 0 5 0 0 12\n"
)


def test_show_stat_keeps_server_rows_only() -> None:
    rows = parse_show_stat(STAT)
    assert [(r.backend, r.server) for r in rows] == [("be_pos", "aws-0"), ("be_pos", "gcp-0")]
    aws = rows[0]
    assert (aws.requests_total, aws.responses_2xx, aws.retries, aws.redispatches, aws.weight, aws.sessions_now) == (
        468, 202, 133, 266, 0, 1,
    )


def test_servers_state_gives_haproxy_own_weights() -> None:
    states = parse_servers_state(STATE)
    assert [(s.server, s.user_weight, s.initial_weight, s.admin_state) for s in states] == [
        ("aws-0", 0, 68, 0),
        ("aws-1", 0, 0, 5),
    ]


def test_commands() -> None:
    assert set_weight_command("be_pos", "aws-0", 68) == "set server be_pos/aws-0 weight 68"
    assert set_state_command("be_pos", "aws-1", "maint") == "set server be_pos/aws-1 state maint"
    with pytest.raises(AssertionError):
        set_weight_command("be_pos", "aws-0", 300)

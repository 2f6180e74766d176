//! `mem0 org ...` and shared contexts through `--context OWNER_ID:NAME`, as a process
//! against a running local-dev.

#[allow(dead_code)]
mod support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{PASSWORD, Server, unique_email};

fn mem0() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| support::cargo_build("mem0"))
}

#[derive(Debug)]
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    #[track_caller]
    fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "mem0 failed: {self:?}");
        &self.stdout
    }
}

/// `mem0 args...` as the holder of `token`.
fn run(server: &Server, token: &str, args: &[&str]) -> Out {
    let config = tempfile::tempdir().expect("temp dir");
    let output = Command::new(mem0())
        .args(args)
        .env("MEM0_API_URL", &server.url)
        .env("MEM0_CONFIG_DIR", config.path())
        .env("MEM0_USER_TOKEN", token)
        .output()
        .expect("mem0 runs");
    Out {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn mailed_token(server: &Server, email: &str) -> String {
    let outbox = server.data_dir.path().join("outbox");
    let mail = std::fs::read_dir(&outbox)
        .expect("outbox")
        .map(|entry| std::fs::read_to_string(entry.expect("entry").path()).expect("mail"))
        .find(|mail| mail.contains(&format!("To: {email}")))
        .expect("a mail to the invitee");
    let start = mail.find("token=").expect("a link") + "token=".len();
    mail[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

#[tokio::test]
async fn the_org_commands_manage_members_and_invitations_and_contexts_take_owner_colon_name() {
    let server = Server::start();
    let signup = server
        .post(
            "/auth/signup/organization",
            None,
            json!({"user": {"email": unique_email(), "password": PASSWORD, "name": "Ada Admin"},
                   "organization": {"name": "Cli Org"}}),
        )
        .await;
    let body = signup.expect(StatusCode::CREATED);
    let admin = body["user"]["jwt_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let admin_id = body["user"]["user_id"].as_u64().expect("id");

    let show = run(&server, &admin, &["org", "show"]);
    assert!(show.ok().contains("Cli Org"), "{show:?}");
    assert!(show.stdout.contains("your role: admin"), "{show:?}");

    // Invite through the CLI; the invitee signs up from the mailed token.
    let email = unique_email();
    let invited = run(
        &server,
        &admin,
        &["org", "invite", &email, "--role", "member"],
    );
    assert!(
        invited.ok().contains(&format!("Invited {email} as member")),
        "{invited:?}"
    );
    let accepted = server
        .post(
            "/invitations/accept",
            None,
            json!({"token": mailed_token(&server, &email), "name": "Bo Member", "password": PASSWORD}),
        )
        .await;
    let user = accepted.expect(StatusCode::CREATED)["user"].clone();
    let member = user["jwt_token"].as_str().expect("token").to_owned();
    let member_id = user["user_id"].as_u64().expect("id").to_string();

    let members = run(&server, &admin, &["org", "members"]);
    assert!(members.ok().contains(&email), "{members:?}");
    assert!(members.stdout.contains("member"), "{members:?}");

    // Pending invitations, revoked by id.
    let other = unique_email();
    run(
        &server,
        &admin,
        &["org", "invite", &other, "--role", "viewer"],
    )
    .ok();
    let listed = run(&server, &admin, &["--json", "org", "invitations"]);
    let listed: Value = serde_json::from_str(listed.ok()).expect("JSON");
    let id = listed["invitations"][0]["invitation_id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert!(
        run(&server, &admin, &["org", "invitations"])
            .ok()
            .contains(&other)
    );
    assert!(
        run(&server, &admin, &["org", "revoke", &id])
            .ok()
            .contains("Revoked")
    );
    assert!(
        run(&server, &admin, &["org", "invitations"])
            .ok()
            .contains("No pending invitations")
    );

    // A shared context, addressed as OWNER_ID:NAME.
    run(
        &server,
        &admin,
        &[
            "context",
            "create",
            "handbook",
            "--visibility",
            "organization",
        ],
    )
    .ok();
    let contexts = run(&server, &member, &["contexts"]);
    let address = format!("{admin_id}:handbook");
    assert!(contexts.ok().contains(&address), "{contexts:?}");
    assert!(
        contexts.stdout.contains("shared by Ada Admin"),
        "{contexts:?}"
    );
    run(
        &server,
        &member,
        &["remember", "--context", &address, "Ship", "on", "Fridays"],
    )
    .ok();
    let recalled = run(&server, &admin, &["recall", "--context", "handbook"]);
    assert!(recalled.ok().contains("Ship on Fridays"), "{recalled:?}");

    // Demoted to viewer: reads, cannot write.
    run(&server, &admin, &["org", "role", &member_id, "viewer"]).ok();
    assert!(
        run(&server, &member, &["recall", "--context", &address])
            .ok()
            .contains("Ship on Fridays")
    );
    let refused = run(
        &server,
        &member,
        &["remember", "--context", &address, "nope"],
    );
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("Viewers"), "{refused:?}");
    assert!(refused.stdout.is_empty());

    // The last admin cannot leave; the member can.
    let stuck = run(&server, &admin, &["org", "leave"]);
    assert_eq!(stuck.code, 1, "{stuck:?}");
    assert!(stuck.stderr.contains("last admin"), "{stuck:?}");
    assert!(
        run(&server, &member, &["org", "leave"])
            .ok()
            .contains("You left")
    );
    let gone = run(&server, &member, &["org", "show"]);
    assert_eq!(gone.code, 1, "{gone:?}");
    assert!(gone.stderr.contains("no organization"), "{gone:?}");
    let lost = run(&server, &member, &["recall", "--context", &address]);
    assert_eq!(lost.code, 1, "{lost:?}");

    // Removing: invite back, then remove.
    let third = unique_email();
    run(
        &server,
        &admin,
        &["org", "invite", &third, "--role", "member"],
    )
    .ok();
    let joined = server
        .post(
            "/invitations/accept",
            None,
            json!({"token": mailed_token(&server, &third), "name": "Cy", "password": PASSWORD}),
        )
        .await;
    let third_id = joined.expect(StatusCode::CREATED)["user"]["user_id"].to_string();
    assert!(
        run(&server, &admin, &["org", "remove", &third_id])
            .ok()
            .contains("Removed")
    );
    assert!(
        !run(&server, &admin, &["org", "members"])
            .ok()
            .contains(&third)
    );
    // Bad input is a usage error.
    let usage = run(&server, &admin, &["org", "role", &member_id, "owner"]);
    assert_eq!(usage.code, 2, "{usage:?}");
    let bad = run(&server, &admin, &["recall", "--context", "x:handbook"]);
    assert_eq!(bad.code, 2, "{bad:?}");
}

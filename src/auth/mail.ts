/**
 * Outgoing mail is pluggable. The default transport writes each message to the
 * log, so an air-gapped admin can hand a reset or invite link over by hand.
 */
import { log } from "../lib/log.ts";

export type Mail = { to: string; subject: string; text: string };
export type MailTransport = { name: string; send(mail: Mail): Promise<void> };

export const logTransport: MailTransport = {
  name: "log",
  async send(mail) {
    log.info("mail (log transport: hand this over to the recipient)", { to: mail.to, subject: mail.subject, text: mail.text });
  },
};

let transport: MailTransport = logTransport;

export function setMailTransport(t: MailTransport): void {
  transport = t;
}

export function sendMail(mail: Mail): Promise<void> {
  return transport.send(mail);
}

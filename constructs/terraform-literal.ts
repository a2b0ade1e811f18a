/**
 * Terraform reads every string as a template: `${` and `%{` in a literal (Workflows expressions,
 * for example) must be escaped as `$${` and `%%{`, in JSON and in HCL alike. cdktf does not do it.
 * (A function replacement: in a replacement string `$$` means one `$`.)
 */
export const terraformLiteral = (s: string): string => s.replace(/([$%])\{/g, (_m, c: string) => `${c}${c}{`);

using Aspire.Kafka.Hosting;

// Usage: TestLauncher [launcher options] [--with-executable]
// Starts echo-a (healthy after 500 ms) and echo-b (waits for echo-a); with --with-executable
// also a plain executable (sleep) started through the launcher's watchdog shell.
DistributedApplicationBuilder builder = DistributedApplicationBuilder.CreateBuilder(args, out List<string> rest);
const string Echo = "tests/TestServices/EchoService/Aspire.Kafka.TestServices.EchoService.csproj";
ResourceBuilder a = builder.AddProject("echo-a", Echo)
    .WithKafkaListener("PLAINTEXT", bootstrap: true)
    .WithDataDirectory("test", 1)
    .WithConfig("test.ready.delay.ms", "500");
builder.AddProject("echo-b", Echo)
    .WithKafkaListener("PLAINTEXT", bootstrap: true)
    .WithDataDirectory("test", 2)
    .WithReference(a);
if (rest.Remove("--with-executable"))
{
    builder.AddExecutable("sleeper", "sleep", "3600").WaitFor(a);
}

if (rest.Count > 0)
{
    Console.Error.WriteLine($"Unknown arguments: {string.Join(' ', rest)}");
    return 2;
}

await using DistributedApplication app = builder.Build();
return await app.RunAsync();
